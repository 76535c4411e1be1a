-- Version 15: a person's entries are found by `email_key`, the address
-- trimmed and in lower case by Unicode's rules, which the collector
-- writes beside `email`, as on SQLite. lower() folds by the database's
-- locale, in the C locale only A to Z: erasing Änna@example.com missed
-- the entries that gave ÄNNA@example.com. The collector gives stored
-- entries their key (`store::postgres::privacy::fill_email_keys`) before
-- version 16 indexes it.
ALTER TABLE entries ADD COLUMN IF NOT EXISTS email_key text;
-- Until every collector writes the key (during a rolling upgrade), an
-- entry an older one stores gets the nearest key this database can make.
CREATE OR REPLACE FUNCTION earshot_email_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.email_key := lower(trim(NEW.email));
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS entries_email_key ON entries;
CREATE TRIGGER entries_email_key BEFORE INSERT ON entries FOR EACH ROW
    WHEN (NEW.email IS NOT NULL AND NEW.email_key IS NULL)
    EXECUTE FUNCTION earshot_email_key();
DROP STATISTICS IF EXISTS entries_email_stats;
DROP INDEX IF EXISTS entries_email;
