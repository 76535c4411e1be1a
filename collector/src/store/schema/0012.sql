-- Version 12: staff and sites managed in the console: disabled accounts,
-- one-time invitation and password-reset links, and a record of who
-- changed what.
-- A disabled account cannot sign in; its sessions and tokens stop at
-- once. Its name stays on the timeline.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- One-time links: only a hash of the secret is kept.
CREATE TABLE account_links (
    id         INTEGER PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    -- Who a reset is for.
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    -- Who an invitation is for, and as what.
    email      TEXT,
    name       TEXT,
    role       TEXT CHECK (role IN ('admin', 'agent')),
    created_by INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

-- Who changed what in the administration of this collector. Never the
-- content of feedback.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    actor_id INTEGER REFERENCES users(id),
    action   TEXT NOT NULL,
    subject  TEXT,
    detail   TEXT,
    at       INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log(at);

-- Erasing a person must take their words out of the search index's
-- own pages too, not only hide them (FTS5 keeps deleted tokens in its
-- segments until a merge otherwise).
INSERT INTO entries_fts (entries_fts, rank) VALUES ('secure-delete', 1);

-- Status links of entries erased at the customer's request: they
-- answer 410 rather than 404. The public id is random, not personal.
CREATE TABLE erased_entries (
    public_id TEXT PRIMARY KEY,
    at        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Retention per site: feedback older than retention_days is deleted
-- (only resolved and won't-fix, or all), spam after spam_days.
ALTER TABLE sites ADD COLUMN retention_days INTEGER CHECK (retention_days > 0);
ALTER TABLE sites ADD COLUMN retention_scope TEXT NOT NULL DEFAULT 'closed'
    CHECK (retention_scope IN ('closed', 'all'));
ALTER TABLE sites ADD COLUMN spam_days INTEGER NOT NULL DEFAULT 30 CHECK (spam_days > 0);

-- The Sites page lists sites by name, a page at a time: read in order,
-- not sorted, so a deep page skips rows without computing them.
CREATE INDEX sites_name ON sites(name COLLATE NOCASE, id);
