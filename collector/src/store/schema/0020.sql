-- Version 20: assignment emails fold as new-entry emails do, so a bulk
-- assignment of 100 entries is two emails to its colleague, not 100. Their
-- waiting ones and when they were last sent one are each a seek.
CREATE INDEX mail_outbox_user_assigned_waiting ON mail_outbox(user_id, due_at)
    WHERE kind = 'assigned' AND state = 'pending';
CREATE INDEX mail_outbox_user_assigned_sent ON mail_outbox(user_id, sent_at)
    WHERE kind = 'assigned' AND state = 'sent';
