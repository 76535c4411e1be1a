-- Version 13: praise and ideas carry no severity. Earlier widgets kept one
-- chosen before the customer switched kind, so praise could read
-- "blocking" in the inbox, its filters and the report; ingest now drops
-- it, and this drops what was stored before. The report's weekly counts
-- move those entries to "no severity" rather than being counted again.
UPDATE entries SET severity = NULL
    WHERE kind IN ('idea', 'praise') AND severity IS NOT NULL;
INSERT INTO rollup_volume (week, site_id, kind, severity, entries)
    SELECT week, site_id, kind, '', sum(entries) FROM rollup_volume
        WHERE kind IN ('idea', 'praise') AND severity <> ''
        GROUP BY week, site_id, kind
    ON CONFLICT (week, site_id, kind, severity) DO UPDATE SET entries = rollup_volume.entries + excluded.entries;
DELETE FROM rollup_volume WHERE kind IN ('idea', 'praise') AND severity <> '';
