-- Version 19: the open view (`view=open`) lists entries not yet closed,
-- answered or not, oldest first. Old entries are nearly all closed, so
-- read along the primary key it would pass every closed one before the
-- first open one; this index holds only the open ones, in order.
CREATE INDEX IF NOT EXISTS entries_open ON entries (id)
    WHERE status IN ('new', 'acknowledged', 'in_progress');
