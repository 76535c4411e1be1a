-- Version 30: sites and staff are listed by a key of their name without
-- accents or case (store::name_order), so "Ärzte" comes beside "Apotheke"
-- and not after "zoo". The columns `sites.name_key` and `users.name_key`
-- and the index on the first are made by the collector
-- (`store::name_order::add_keys`), since SQLite adds a column only
-- unconditionally; it fills the keys of stored names as it opens the
-- database.
DROP INDEX IF EXISTS sites_name;
