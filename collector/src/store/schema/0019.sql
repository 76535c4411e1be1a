-- Version 19: a customer's entries by their email, matched as erasure
-- matches it (trimmed, any case): the entry page lists the customer's
-- other feedback, and finding a person's entries to erase or export no
-- longer reads every entry. PostgreSQL has had it from its first version.
CREATE INDEX entries_email ON entries (lower(trim(email)), id) WHERE email IS NOT NULL;
