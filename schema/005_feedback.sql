-- 005_feedback: what happens after delivery (opens, clicks, unsubscribes,
-- bounces, complaints, replies) and the webhooks that hear of it.

-- events gains two types and the machine flag. SQLite cannot change a
-- CHECK in place, so the table is rebuilt; nothing references it yet.
CREATE TABLE events_new (
	id		INTEGER PRIMARY KEY,
	campaign_id	INTEGER REFERENCES campaigns(id) ON DELETE CASCADE,
	recipient_id	INTEGER REFERENCES recipients(id) ON DELETE CASCADE,
	type		TEXT NOT NULL CHECK (type IN
			('delivered', 'deferred', 'bounced', 'opened',
			 'clicked', 'unsubscribed', 'complained', 'replied',
			 'auto_replied')),
	at		INTEGER NOT NULL,
	detail		TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
	-- An open or click a machine made: a mail provider's image proxy,
	-- a security scanner following links within seconds of delivery.
	-- Reports and hygiene count human ones apart.
	machine		INTEGER NOT NULL DEFAULT 0
);
INSERT INTO events_new(id, campaign_id, recipient_id, type, at, detail)
	SELECT id, campaign_id, recipient_id, type, at, detail FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_campaign ON events(campaign_id, type, at);
CREATE INDEX events_recipient ON events(recipient_id, type, at);

-- hard, soft or policy (RFC 3463 class and subject, else the pattern
-- table of engine/bounce.c) for a bounced delivery, whether the bounce
-- came in the SMTP session or later as a DSN.
ALTER TABLE deliveries ADD COLUMN bounce_class TEXT;

-- Counters the feedback guard reads on every bounce and complaint: a
-- count over a million deliveries per bounce would not do. sent counts
-- deliveries that reached a final SMTP answer (delivered or bounced).
ALTER TABLE campaigns ADD COLUMN sent_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN hard_bounces INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN complaints INTEGER NOT NULL DEFAULT 0;
-- Why a campaign paused itself (a complaint or bounce rate passed its
-- threshold); NULL when a person paused it or it runs.
ALTER TABLE campaigns ADD COLUMN paused_reason TEXT;
UPDATE campaigns SET sent_count = (SELECT count(*) FROM deliveries d
	WHERE d.campaign_id = campaigns.id AND
	d.status IN ('delivered', 'bounced'));

-- The webhooks of the config, as the last command that loaded it wrote
-- them: events is a JSON array of event types ("*" for all).
CREATE TABLE webhooks (
	name		TEXT PRIMARY KEY,
	url		TEXT NOT NULL,
	events		TEXT NOT NULL CHECK (json_valid(events))
) WITHOUT ROWID;

-- The outbox: one row per event and webhook that wants it, written by
-- the trigger below in the transaction that records the event, so no
-- event is recorded without its webhook calls or the other way round.
CREATE TABLE webhook_outbox (
	id		INTEGER PRIMARY KEY,
	webhook		TEXT NOT NULL,
	event_id	INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	status		TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
			('pending', 'sent', 'dead')),
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_attempt_at	INTEGER NOT NULL,
	last_error	TEXT,
	created_at	INTEGER NOT NULL,
	done_at		INTEGER
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_attempt_at)
	WHERE status = 'pending';
CREATE INDEX webhook_outbox_event ON webhook_outbox(event_id);

CREATE TRIGGER events_webhooks AFTER INSERT ON events
BEGIN
	INSERT INTO webhook_outbox(webhook, event_id, next_attempt_at,
	    created_at)
	SELECT w.name, NEW.id, NEW.at, NEW.at FROM webhooks w
	WHERE EXISTS (SELECT 1 FROM json_each(w.events) j
	    WHERE j.value IN (NEW.type, '*'));
END;

-- Inbound mail `bounce ingest` could not classify: kept for a person to
-- read, never guessed into a bounce. message holds at most the first
-- 64 KiB.
CREATE TABLE inbound_review (
	id		INTEGER PRIMARY KEY,
	received_at	INTEGER NOT NULL,
	campaign_id	INTEGER REFERENCES campaigns(id) ON DELETE CASCADE,
	recipient_id	INTEGER REFERENCES recipients(id) ON DELETE CASCADE,
	reason		TEXT NOT NULL,
	message		BLOB NOT NULL
);
