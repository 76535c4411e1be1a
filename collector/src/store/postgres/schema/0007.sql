-- Version 7: a site can email each customer who leaves an address a
-- receipt (their reference and status link), so closing the widget does
-- not lose the page where the answer will be. Off until an admin turns it
-- on: it writes to people on the site's behalf.
ALTER TABLE sites ADD COLUMN receipt_email boolean NOT NULL DEFAULT false;
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('new_entry', 'assigned', 'digest', 'reply', 'follow_up', 'receipt'));
