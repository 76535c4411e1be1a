-- Version 1: sites and entries.
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    -- Allowed origin patterns, one per line.
    origins     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE entries (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT NOT NULL UNIQUE,
    reference       TEXT NOT NULL UNIQUE,
    -- Secret half of the status link; found through public_id, so it
    -- needs no index of its own (a random-key index costs every insert).
    status_token    TEXT NOT NULL,
    site_id         INTEGER NOT NULL REFERENCES sites(id),
    kind            TEXT NOT NULL,
    message         TEXT,
    expected        TEXT,
    actual          TEXT,
    email           TEXT,
    page_url        TEXT,
    page_title      TEXT,
    page_referrer   TEXT,
    user_agent      TEXT,
    language        TEXT,
    timezone        TEXT,
    viewport        TEXT,
    idempotency_key TEXT,
    status          TEXT NOT NULL DEFAULT 'new',
    -- Unix time in milliseconds, UTC.
    created_at      INTEGER NOT NULL
) STRICT;

-- Retries after a lost response or a crash can never duplicate an entry.
CREATE UNIQUE INDEX entries_idempotency
    ON entries(site_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX entries_site_status ON entries(site_id, status, id);
