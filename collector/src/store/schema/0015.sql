-- Version 15: "Needs a response" lists whoever has waited longest first,
-- counting from a customer's unanswered follow-up (see
-- `review::WAITING_SINCE_SQL`), not by arrival: an old entry the
-- customer wrote again on minutes ago no longer heads the list. The
-- waiting entries' index holds that order.
DROP INDEX entries_waiting;
CREATE INDEX entries_waiting ON entries(coalesce(followup_at, created_at), id)
    WHERE status IN ('new', 'acknowledged', 'in_progress')
      AND (first_response_at IS NULL OR followup_at IS NOT NULL);
