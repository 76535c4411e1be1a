-- Version 7: image dimensions, read from the file's header (an image bomb can
-- declare gigapixels in a small file). Rows from before are filled in
-- by `backfill_image_dimensions`.
ALTER TABLE attachments ADD COLUMN width INTEGER;
ALTER TABLE attachments ADD COLUMN height INTEGER;
