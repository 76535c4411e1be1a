-- Version 11: on sites that send receipts, a customer is also told when a
-- promise made to them is kept ('kept'), unless a reply told them or the
-- entry was closed.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('new_entry', 'assigned', 'digest', 'reply', 'follow_up', 'receipt', 'mention',
                    'promise', 'closed', 'kept'));
