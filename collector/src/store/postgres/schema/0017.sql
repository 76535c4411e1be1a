-- Version 17: names (of sites, of staff) are listed in the order SQLite's
-- NOCASE gives them, whatever the database's collation: A to Z in lower
-- case, then code points. Under the "C" collation lower() folds only A to
-- Z, and "C" compares code points. A collation such as en_US sorts
-- "Édith" beside "Eve" and "ada" before "Cy" where SQLite does not, so
-- the two backends listed the same names apart.
DROP INDEX IF EXISTS sites_name;
CREATE INDEX sites_name ON sites (lower(name COLLATE "C"), id);
