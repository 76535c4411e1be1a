-- Version 11: the customer can answer back from their status page. A follow-up
-- is an event; it puts the entry back among those waiting for staff
-- until a reply. The kinds it adds to three CHECK lists are admitted by
-- `widen_checks` in `migrations.rs`.
-- When the customer's latest unanswered follow-up arrived; NULL when
-- staff have replied since (or there was none).
ALTER TABLE entries ADD COLUMN followup_at INTEGER;
DROP INDEX entries_waiting;
CREATE INDEX entries_waiting ON entries(id)
    WHERE status IN ('new', 'acknowledged', 'in_progress')
      AND (first_response_at IS NULL OR followup_at IS NOT NULL);
