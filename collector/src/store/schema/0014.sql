-- Version 14: search at a million entries. The words in the search index, so
-- a search can spell out which longer words its last word starts (see
-- `search::match_query`): a view over `entries_fts` that stores
-- nothing. And the columns a filter tests beside a search, by id: a
-- search reads its matches newest first and tests each against the
-- filter; from this index (about 40 bytes an entry, read in order)
-- rather than from the entries' whole rows scattered over the file.
CREATE VIRTUAL TABLE search_terms USING fts5vocab(entries_fts, 'row');
CREATE INDEX entries_search_filter ON entries(
    id, status, site_id, kind, severity, assignee_id, created_at,
    first_response_at, followup_at
);
