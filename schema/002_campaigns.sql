-- 002_campaigns: campaigns, one delivery per campaign x recipient, events.

CREATE TABLE campaigns (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	list_id		INTEGER NOT NULL REFERENCES lists(id) ON DELETE RESTRICT,
	segment		TEXT,
	template_version_id INTEGER NOT NULL
			REFERENCES template_versions(id) ON DELETE RESTRICT,
	from_name	TEXT NOT NULL DEFAULT '',
	from_addr	TEXT NOT NULL,
	reply_to	TEXT,
	status		TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
			('draft', 'scheduled', 'running', 'paused', 'done',
			 'cancelled')),
	scheduled_at	INTEGER,
	started_at	INTEGER,
	finished_at	INTEGER,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);
CREATE INDEX campaigns_due ON campaigns(status, scheduled_at);

-- Created all at once when a campaign starts (its audience). Keyed and
-- stored (WITHOUT ROWID) by campaign, domain, recipient: the loader reads a
-- domain's work as one range of the table itself, with a cursor on
-- recipient_id, and resolving an audience sorted by domain appends in key
-- order with no second index to keep (1,000,000 rows: 0.8 s against 2.7 s
-- with a separate loader index). A recipient has one domain, so
-- (campaign_id, recipient_id) is unique too; tracking tokens and VERP
-- addresses name a delivery by that pair and find the domain through the
-- recipient.
CREATE TABLE deliveries (
	campaign_id	INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
	domain		TEXT NOT NULL,
	recipient_id	INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
	status		TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
			('pending', 'sending', 'delivered', 'deferred',
			 'bounced', 'failed', 'suppressed')),
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_attempt_at	INTEGER NOT NULL,
	last_reply	TEXT,
	last_dsn	TEXT,		-- RFC 3463 enhanced status code, e.g. 5.1.1
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	first_attempt_at INTEGER,
	done_at		INTEGER,
	PRIMARY KEY (campaign_id, domain, recipient_id)
) WITHOUT ROWID;
-- Retries: deferred deliveries by due time. Partial, so it holds only what
-- waits for a retry and costs nothing when an audience is resolved.
CREATE INDEX deliveries_retry ON deliveries(campaign_id, next_attempt_at)
	WHERE status = 'deferred';
-- No index on recipient_id: it would cost an audience 0.6 s per million
-- and serve only the rare erasure of a recipient, which may scan instead.

-- recipient_id and campaign_id name the delivery an event belongs to; an
-- event outside any campaign (an unsubscribe from a list page) has no
-- campaign.
CREATE TABLE events (
	id		INTEGER PRIMARY KEY,
	campaign_id	INTEGER REFERENCES campaigns(id) ON DELETE CASCADE,
	recipient_id	INTEGER REFERENCES recipients(id) ON DELETE CASCADE,
	type		TEXT NOT NULL CHECK (type IN
			('delivered', 'deferred', 'bounced', 'opened',
			 'clicked', 'unsubscribed', 'complained')),
	at		INTEGER NOT NULL,
	detail		TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
-- Reports count events by campaign and type; hygiene reads a recipient's
-- history.
CREATE INDEX events_campaign ON events(campaign_id, type, at);
CREATE INDEX events_recipient ON events(recipient_id, type, at);
