-- Version 10: roll-ups for reports, kept by a background task that follows
-- entries (cursor `rollup_entries`, from 0, so older entries are rolled
-- up too) and by the staff actions that change what they count. Weeks
-- start on Monday (UTC); times are histograms (see `report`). Promises
-- learn their site, so reports count them without visiting entries.
CREATE TABLE rollup_volume (
    week INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    entries INTEGER NOT NULL,
    PRIMARY KEY (week, site_id, kind, severity)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_first_response (
    week INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (week, site_id, bucket)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_resolution (
    week INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (week, site_id, kind, bucket)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_pages (
    week INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    page TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (week, site_id, page)
) STRICT, WITHOUT ROWID;
CREATE TABLE rollup_words (
    page TEXT NOT NULL,
    week INTEGER NOT NULL,
    site_id INTEGER NOT NULL,
    word TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (page, week, site_id, word)
) STRICT, WITHOUT ROWID;
INSERT INTO cursors (name, upto) VALUES ('rollup_entries', 0);
ALTER TABLE promises ADD COLUMN site_id INTEGER REFERENCES sites(id);
UPDATE promises SET site_id = (SELECT site_id FROM entries WHERE entries.id = promises.entry_id);
-- Covering: reports count promises by outcome from the index alone.
CREATE INDEX promises_created ON promises(created_at, state, settled_at, due_at);
CREATE INDEX promises_site_created ON promises(site_id, created_at, state, settled_at, due_at);
-- The Promises page lists the latest settled ones.
CREATE INDEX promises_settled ON promises(settled_at) WHERE state <> 'open';
