-- Version 8: a colleague named in an internal note (@bo) is emailed it.
-- A note leaves a notice ('note') for the dispatcher, which finds who it
-- names and queues a 'mention' email for each. A promise turning due or
-- overdue emails whoever holds the entry (or made the promise): 'promise'.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('status', 'assign', 'reply', 'promise_made', 'promise_settled',
                    'promise_due', 'promise_overdue', 'follow_up', 'note'));
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('new_entry', 'assigned', 'digest', 'reply', 'follow_up', 'receipt', 'mention',
                    'promise'));
