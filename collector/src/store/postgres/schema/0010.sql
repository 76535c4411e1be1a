-- Version 10: on sites that send receipts, a customer is also told when
-- their feedback is resolved or closed without a change ('closed'),
-- unless a reply told them. Status notices now name their timeline event,
-- which the email is written from.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('new_entry', 'assigned', 'digest', 'reply', 'follow_up', 'receipt', 'mention',
                    'promise', 'closed'));
