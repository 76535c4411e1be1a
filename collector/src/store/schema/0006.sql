-- Version 6: sign-in attempts, so throttles survive a restart.
-- Attempts the throttle let through, kept only as long as a throttle
-- remembers them. Keyed hashes (auth::throttle): no address, no email.
-- A trusted device's attempt has only `device`; others the other three.
CREATE TABLE login_attempts (
    at      INTEGER NOT NULL,
    net     BLOB,
    pair    BLOB,
    account BLOB,
    device  BLOB
) STRICT;
CREATE INDEX login_attempts_at ON login_attempts(at);
