-- Version 2, as SQLite's migration 16: feedback refused because its
-- page's origin is not allowed, per site and hour, and the latest origins
-- refused (`store::refusals`). Every collector adds its own counts.
CREATE TABLE origin_refusals (
    site_id bigint NOT NULL REFERENCES sites (id),
    -- Hours since 1970, UTC.
    hour    bigint NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (site_id, hour)
);
CREATE TABLE refused_origins (
    site_id bigint NOT NULL REFERENCES sites (id),
    origin  text NOT NULL,
    last_at bigint NOT NULL,
    PRIMARY KEY (site_id, origin)
);
