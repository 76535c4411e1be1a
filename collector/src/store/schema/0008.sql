-- Version 8: telling people: staff notification preferences, what happened
-- (notices), the email outbox and signed webhooks with their deliveries.
-- How each colleague wants to hear; no row means the defaults for
-- their role (notify::Prefs).
CREATE TABLE notify_prefs (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    -- Kinds and severities that send an email at once, comma-separated.
    immediate   TEXT NOT NULL,
    -- Site ids the immediate emails cover, comma-separated; '*' is all.
    sites       TEXT NOT NULL,
    -- UTC hour of the daily digest; NULL is off.
    digest_hour INTEGER CHECK (digest_hour BETWEEN 0 AND 23),
    on_assign   INTEGER NOT NULL
) STRICT;

-- Things staff did that someone may need to hear of, written in the
-- same transaction as the change; the dispatcher fans them out and
-- deletes them. New entries need no notice: the dispatcher follows the
-- entries table itself (settings 'dispatched_entries').
CREATE TABLE notices (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('status', 'assign', 'reply',
                   'promise_made', 'promise_settled', 'promise_due', 'promise_overdue')),
    entry_id   INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    actor_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    -- The colleague assigned, or the reply's event, or the promise.
    subject_id INTEGER,
    old_value  TEXT,
    new_value  TEXT,
    at         INTEGER NOT NULL
) STRICT;

-- How far background work has got through an append-only table.
CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    upto INTEGER NOT NULL
) STRICT;
-- Entries from before this version were never announced; they stay so.
INSERT INTO cursors (name, upto)
    SELECT 'dispatched_entries', coalesce(max(id), 0) FROM entries;

-- When a promise's 'due soon' and 'overdue' notices went out.
ALTER TABLE promises ADD COLUMN due_noticed_at INTEGER;
ALTER TABLE promises ADD COLUMN overdue_noticed_at INTEGER;

-- Email to send: staff notifications and replies to customers.
CREATE TABLE mail_outbox (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('new_entry', 'assigned', 'digest', 'reply')),
    -- The colleague it is for; NULL for a reply to the customer.
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    entry_id   INTEGER REFERENCES entries(id) ON DELETE CASCADE,
    -- The reply's event, for a reply email.
    event_id   INTEGER REFERENCES events(id) ON DELETE CASCADE,
    -- Who did it (the colleague who assigned the entry).
    actor_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    -- The UTC day (days since 1970) a digest covers.
    day        INTEGER,
    created_at INTEGER NOT NULL,
    due_at     INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    state      TEXT NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'sent', 'folded', 'failed', 'cancelled')),
    -- The message that carried it (its own id, or the one it was folded into).
    sent_in    INTEGER,
    sent_at    INTEGER
) STRICT;
CREATE INDEX mail_outbox_pending ON mail_outbox(due_at) WHERE state = 'pending';
-- A colleague's waiting new-entry emails, and when they were last sent
-- one: both asked for every new entry, so each is a seek, never a scan
-- past thousands of folded rows.
CREATE INDEX mail_outbox_user_waiting ON mail_outbox(user_id, due_at)
    WHERE kind = 'new_entry' AND state = 'pending';
CREATE INDEX mail_outbox_user_sent ON mail_outbox(user_id, sent_at)
    WHERE kind = 'new_entry' AND state = 'sent';
CREATE UNIQUE INDEX mail_outbox_digest ON mail_outbox(user_id, day) WHERE kind = 'digest';

CREATE TABLE mail_attempts (
    id        INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES mail_outbox(id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    ok        INTEGER NOT NULL,
    -- A short reason, never the server's text (it can quote addresses).
    error     TEXT
) STRICT;
CREATE INDEX mail_attempts_outbox ON mail_attempts(outbox_id);

CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT NOT NULL UNIQUE,
    site_id         INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    -- Event types, comma-separated; '*' is all.
    events          TEXT NOT NULL,
    format          TEXT NOT NULL CHECK (format IN ('standard', 'slack')),
    include_email   INTEGER NOT NULL DEFAULT 0,
    secret          TEXT NOT NULL,
    -- After a rotation the old secret signs too, until then.
    previous_secret TEXT,
    previous_until  INTEGER,
    state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'failing', 'disabled')),
    state_reason    TEXT,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX webhooks_site ON webhooks(site_id);

-- One message to one endpoint. The body is built once, so every retry
-- sends the same bytes under the same webhook-id.
CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    msg_id       TEXT NOT NULL,
    event        TEXT NOT NULL,
    entry_id     INTEGER REFERENCES entries(id) ON DELETE CASCADE,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    delivered_at INTEGER
) STRICT;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(due_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);
CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries(webhook_id)
    WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    -- The HTTP status, when there was an answer.
    status      INTEGER,
    latency_ms  INTEGER NOT NULL,
    error       TEXT
) STRICT;
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id);
