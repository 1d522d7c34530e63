-- 004_send.sql: what a send run needs beyond the campaign tables.
--
-- reclaimed counts how often a run that died left this delivery in flight
-- ('sending') and a later run put it back: such a recipient may have got
-- the message twice, and reports count those as possibly duplicated.
ALTER TABLE deliveries ADD COLUMN reclaimed INTEGER NOT NULL DEFAULT 0;

-- The send lease: the run sending a campaign holds it and renews it every
-- few seconds, so a second `send` (an overlapping cron run) leaves the
-- campaign alone, and a run that died is known by its lapsed lease
-- before its in-flight deliveries are reclaimed.
ALTER TABLE campaigns ADD COLUMN send_owner TEXT;
ALTER TABLE campaigns ADD COLUMN send_lease_until INTEGER;

-- What the run holding the lease last reported, as JSON: its counts and
-- every domain it is working on with its queue and throttle state, for
-- `postbote status` in another process.
ALTER TABLE campaigns ADD COLUMN send_state TEXT;

-- Messages handed to each MX provider per UTC day (days since 1970), for
-- the warm-up caps of shaping.providers.
CREATE TABLE provider_volume (
	provider	TEXT NOT NULL,
	day		INTEGER NOT NULL,
	sent		INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (provider, day)
) WITHOUT ROWID;
