-- Version 16: the index on the keys version 15 added, made once they are
-- filled; analysed now, so the planner counts a customer's entries right
-- from the first query (see version 14).
CREATE INDEX IF NOT EXISTS entries_email_key ON entries (email_key, id) WHERE email_key IS NOT NULL;
ANALYZE entries;
