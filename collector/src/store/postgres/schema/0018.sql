-- Version 18: sites and staff are listed by a key of their name without
-- accents or case (store::name_order), computed by the collector, so
-- "Ärzte" comes beside "Apotheke" and not after "zoo", here and on SQLite
-- alike and whatever the database's collation: the key compares byte by
-- byte ("C"). A collector fills the keys of stored names as it starts,
-- so also those an older one writes during a rolling upgrade.
ALTER TABLE sites ADD COLUMN IF NOT EXISTS name_key text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN IF NOT EXISTS name_key text COLLATE "C" NOT NULL DEFAULT '';
DROP INDEX IF EXISTS sites_name;
CREATE INDEX sites_name ON sites (name_key, id);
