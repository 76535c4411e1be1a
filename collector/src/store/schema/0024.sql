-- Version 24: a test email from the Notifications page is an attempt too,
-- with no email of the outbox behind it (`outbox_id` NULL). Email's health
-- counts the failures since the last attempt that went out, so a relay
-- mended and tested no longer reads as failing until the next real email.
-- SQLite cannot drop a NOT NULL in place: the table (small: its rows go
-- with their emails after 30 days) is made again.
CREATE TABLE mail_attempts_new (
    id        INTEGER PRIMARY KEY,
    outbox_id INTEGER REFERENCES mail_outbox(id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    ok        INTEGER NOT NULL,
    -- A short reason, never the server's text (it can quote addresses).
    error     TEXT
) STRICT;
INSERT INTO mail_attempts_new (id, outbox_id, at, ok, error)
    SELECT id, outbox_id, at, ok, error FROM mail_attempts;
DROP TABLE mail_attempts;
ALTER TABLE mail_attempts_new RENAME TO mail_attempts;
CREATE INDEX mail_attempts_outbox ON mail_attempts(outbox_id);
