-- Version 13: deleting an entry (erasure, retention) cascades into these
-- tables and checks `promises` by event; without an index on those
-- columns every single deletion scanned each table whole.
CREATE INDEX notices_entry ON notices(entry_id);
CREATE INDEX mail_outbox_entry ON mail_outbox(entry_id) WHERE entry_id IS NOT NULL;
CREATE INDEX mail_outbox_event ON mail_outbox(event_id) WHERE event_id IS NOT NULL;
CREATE INDEX webhook_deliveries_entry ON webhook_deliveries(entry_id)
    WHERE entry_id IS NOT NULL;
CREATE INDEX promises_event ON promises(event_id);
