-- Version 34: an email the relay refused for its address alone (letters
-- beyond ASCII before the `@`, which a relay without SMTPUTF8 cannot
-- take) is given up at once and kept out of email's health: one
-- customer's address is no sign that email is not getting through.
ALTER TABLE mail_attempts ADD COLUMN address_refused INTEGER NOT NULL DEFAULT 0
    CHECK (address_refused IN (0, 1));
