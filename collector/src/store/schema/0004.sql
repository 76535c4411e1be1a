-- Version 4: what the host page adds through `Earshot.setContext`.
-- A JSON object of string keys and values; NULL when the host added none.
ALTER TABLE entries ADD COLUMN context TEXT;
