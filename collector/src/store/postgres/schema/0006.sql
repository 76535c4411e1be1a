-- Version 6: when each colleague last signed in, for the Staff page (an
-- account nobody uses is one to disable). Sessions end after a week at
-- most, so they cannot tell; those still open start the column off.
ALTER TABLE users ADD COLUMN last_sign_in_at bigint;
UPDATE users SET last_sign_in_at = (
    SELECT max(created_at) FROM sessions WHERE sessions.user_id = users.id
);
