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

-- Created all at once when a campaign starts (its audience); domain is
-- copied from the recipient so the loader reads one domain's pending work
-- from one index range.
CREATE TABLE deliveries (
	id		INTEGER PRIMARY KEY,
	campaign_id	INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
	recipient_id	INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
	domain		TEXT NOT NULL,
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
	UNIQUE (campaign_id, recipient_id)
);
-- The loader: pending or deferred work of one campaign, domain by domain,
-- oldest due first.
CREATE INDEX deliveries_loader
	ON deliveries(campaign_id, status, domain, next_attempt_at);
CREATE INDEX deliveries_recipient ON deliveries(recipient_id);

CREATE TABLE events (
	id		INTEGER PRIMARY KEY,
	campaign_id	INTEGER REFERENCES campaigns(id) ON DELETE CASCADE,
	delivery_id	INTEGER REFERENCES deliveries(id) ON DELETE CASCADE,
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
