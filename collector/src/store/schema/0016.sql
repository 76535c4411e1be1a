-- Version 16: feedback refused because its page's origin is not allowed, per
-- site and hour, and the latest origins refused (`store::refusals`):
-- the Sites page's count survives a restart. Counted in memory and
-- written every few seconds, never a write per refusal.
CREATE TABLE origin_refusals (
    site_id INTEGER NOT NULL REFERENCES sites(id),
    -- Hours since 1970, UTC.
    hour    INTEGER NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (site_id, hour)
) STRICT, WITHOUT ROWID;
CREATE TABLE refused_origins (
    site_id INTEGER NOT NULL REFERENCES sites(id),
    origin  TEXT NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (site_id, origin)
) STRICT, WITHOUT ROWID;
