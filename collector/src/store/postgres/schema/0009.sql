-- Version 9: a test email from the Notifications page is an attempt too,
-- with no email of the outbox behind it (`outbox_id` NULL). Email's health
-- counts the failures since the last attempt that went out, so a relay
-- mended and tested no longer reads as failing until the next real email.
ALTER TABLE mail_attempts ALTER COLUMN outbox_id DROP NOT NULL;
