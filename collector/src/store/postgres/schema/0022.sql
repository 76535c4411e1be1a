-- Version 22: an email the relay refused for its address alone (letters
-- beyond ASCII before the `@`, which a relay without SMTPUTF8 cannot
-- take) is given up at once and kept out of email's health: one
-- customer's address is no sign that email is not getting through. A
-- column with a constant default rewrites no row (PostgreSQL 11 on), and
-- a collector not yet upgraded writes `false`, as it always meant.
ALTER TABLE mail_attempts ADD COLUMN IF NOT EXISTS address_refused boolean NOT NULL DEFAULT false;
