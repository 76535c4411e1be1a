-- Version 22: a site can email each customer who leaves an address a
-- receipt (their reference and status link), so closing the widget does
-- not lose the page where the answer will be. Off until an admin turns it
-- on: it writes to people on the site's behalf. The mail_outbox kind list
-- admits 'receipt' (see WIDENED_CHECKS).
ALTER TABLE sites ADD COLUMN receipt_email INTEGER NOT NULL DEFAULT 0;
