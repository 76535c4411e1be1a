-- Version 2: abuse handling and privacy.
-- Server-wide secrets, generated on first start.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
-- Keyed hash of the client IP, rotated daily; the raw IP is never stored.
ALTER TABLE entries ADD COLUMN ip_hash TEXT;
-- Why an entry was filed as spam ('honeypot', 'too_fast'), if it was.
ALTER TABLE entries ADD COLUMN spam_reason TEXT;
