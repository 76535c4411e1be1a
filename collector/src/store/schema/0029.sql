-- Version 29: a person's entries are found by `email_key`, the address
-- trimmed and in lower case by Unicode's rules, which the collector
-- writes beside `email`. SQLite's lower() folds only A to Z, so erasing
-- Änna@example.com missed the entries that gave ÄNNA@example.com (and
-- even those that gave Änna@example.com itself). The column, its index
-- and its values for stored entries are made by the collector
-- (`store::privacy::add_email_keys`): SQLite adds a column only
-- unconditionally, and its lower() cannot compute the key.
DROP INDEX IF EXISTS entries_email;
