-- Version 5: images customers attach (a screenshot they already have).
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    -- Random: it appears in the console's URLs.
    public_id    TEXT NOT NULL UNIQUE,
    entry_id     INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    -- Checked against the file's own first bytes before storing.
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    size         INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_entry ON attachments(entry_id);
