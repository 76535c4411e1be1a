-- Version 3: the review console: staff, sessions, workflow, timeline, promises,
-- full-text search.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    -- argon2id PHC string.
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

-- Only a hash of the session id is stored: a leaked database file does
-- not hand out live sessions.
CREATE TABLE sessions (
    id_hash    BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

-- First-response target shown in the inbox, and the promise the widget
-- makes after sending ("We answer within 1 business day").
ALTER TABLE sites ADD COLUMN first_response_minutes INTEGER NOT NULL DEFAULT 1440;
ALTER TABLE sites ADD COLUMN response_promise TEXT;

ALTER TABLE entries ADD COLUMN severity TEXT;
ALTER TABLE entries ADD COLUMN name TEXT;
ALTER TABLE entries ADD COLUMN assignee_id INTEGER REFERENCES users(id);
-- When staff first replied to the customer; NULL while they wait.
ALTER TABLE entries ADD COLUMN first_response_at INTEGER;

-- The inbox's default view: who is still waiting, oldest first.
CREATE INDEX entries_waiting ON entries(id)
    WHERE first_response_at IS NULL AND status IN ('new', 'acknowledged', 'in_progress');
CREATE INDEX entries_status ON entries(status, id);
CREATE INDEX entries_assignee ON entries(assignee_id, id) WHERE assignee_id IS NOT NULL;
CREATE INDEX entries_kind ON entries(kind, id);
CREATE INDEX entries_created ON entries(created_at);

-- Everything that happened to an entry, in order. Replies are what the
-- customer sees; notes never leave the console.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    entry_id   INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    actor_id   INTEGER REFERENCES users(id),
    kind       TEXT NOT NULL CHECK (kind IN
                   ('status', 'assign', 'note', 'reply', 'promise_kept', 'promise_broken')),
    body       TEXT,
    old_value  TEXT,
    new_value  TEXT,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_entry ON events(entry_id, id);

CREATE TABLE promises (
    id         INTEGER PRIMARY KEY,
    entry_id   INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    -- The reply that made the promise.
    event_id   INTEGER NOT NULL REFERENCES events(id),
    made_by    INTEGER REFERENCES users(id),
    text       TEXT NOT NULL,
    due_at     INTEGER NOT NULL,
    state      TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'kept', 'broken')),
    settled_at INTEGER,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX promises_entry ON promises(entry_id);
CREATE INDEX promises_open ON promises(due_at) WHERE state = 'open';

-- Search over the customer's words and staff notes. The table keeps its
-- own copy of the text so notes (from events) can live beside it; its
-- rowid is the entry id.
CREATE VIRTUAL TABLE entries_fts USING fts5(
    message, expected, actual, notes,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO entries_fts (rowid, message, expected, actual, notes)
    SELECT id, message, expected, actual, '' FROM entries;
-- New entries are indexed in batches (store::search), not by a trigger:
-- an FTS5 insert in every group commit cost ingest half its throughput.
CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
    DELETE FROM entries_fts WHERE rowid = old.id;
END;
