-- Version 23: counting the inbox by kind, or within the open view, reads
-- these indexes alone, as counting by severity does (version 4): the
-- other equality filters are included beside the key. Without them the
-- planner counted two kinds of five ("ideas and praise") along
-- `entries_severity`, whose rows it takes for the smaller table, assuming
-- the kinds spread evenly over the severities; praise and ideas have none,
-- so they sort last, and it passed 450,000 rows before the first of them
-- (the page took 55 ms at a million entries, 2.5 ms with the kind as the
-- index's key). The open view's count read every open entry's row for its
-- kind and assignee (20 ms for open complaints nobody has; 4 ms from the
-- index). 19 MB more per million entries, and 1 MB per 27,000 open ones.
-- A new database runs this as written; an upgrade builds the two indexes
-- concurrently instead (`REBUILDS_INDEXES` in migrations.rs), as in one
-- transaction writes to `entries` waited while they were built, about 2 s
-- per million entries on a 2-core machine.
DROP INDEX IF EXISTS entries_kind;
CREATE INDEX entries_kind ON entries (kind, id)
    INCLUDE (status, assignee_id, severity, site_id);

DROP INDEX IF EXISTS entries_open;
CREATE INDEX entries_open ON entries (id)
    INCLUDE (kind, assignee_id, severity, site_id)
    WHERE status IN ('new', 'acknowledged', 'in_progress');
