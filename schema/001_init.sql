-- 001_init: lists, recipients, suppressions, templates, settings.
-- Every *_at column holds Unix time in milliseconds (UTC).

CREATE TABLE settings (
	key		TEXT PRIMARY KEY,
	value		TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE lists (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	description	TEXT NOT NULL DEFAULT '',
	created_at	INTEGER NOT NULL
);

-- One row per mailbox, whatever lists it is on. address is what we send to
-- (the local part as first imported, the domain as an A-label); address_key
-- is the identity that duplicates collapse on.
CREATE TABLE recipients (
	id		INTEGER PRIMARY KEY,
	address		TEXT NOT NULL,
	address_key	TEXT NOT NULL UNIQUE,
	domain		TEXT NOT NULL,
	attrs		TEXT NOT NULL DEFAULT '{}'
			CHECK (json_valid(attrs) AND json_type(attrs) = 'object'),
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);
CREATE INDEX recipients_domain ON recipients(domain);

CREATE TABLE list_members (
	list_id		INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
	recipient_id	INTEGER NOT NULL REFERENCES recipients(id) ON DELETE CASCADE,
	added_at	INTEGER NOT NULL,
	PRIMARY KEY (list_id, recipient_id)
) WITHOUT ROWID;
CREATE INDEX list_members_recipient ON list_members(recipient_id);

-- kind 'address' matches recipients.address_key, kind 'domain' matches
-- recipients.domain. A NULL list_id suppresses on every list.
CREATE TABLE suppressions (
	id		INTEGER PRIMARY KEY,
	kind		TEXT NOT NULL CHECK (kind IN ('address', 'domain')),
	value		TEXT NOT NULL,
	list_id		INTEGER REFERENCES lists(id) ON DELETE CASCADE,
	reason		TEXT NOT NULL DEFAULT '',
	source		TEXT NOT NULL DEFAULT 'manual',
	created_at	INTEGER NOT NULL
);
CREATE UNIQUE INDEX suppressions_unique
	ON suppressions(kind, value, ifnull(list_id, 0));

CREATE TABLE templates (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	created_at	INTEGER NOT NULL
);

-- A template is never edited in place: `template add` on an existing name
-- adds a version, and a campaign pins the version it was created with.
CREATE TABLE template_versions (
	id		INTEGER PRIMARY KEY,
	template_id	INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
	version		INTEGER NOT NULL,
	subject		TEXT NOT NULL,
	html		TEXT NOT NULL,
	text		TEXT,
	created_at	INTEGER NOT NULL,
	UNIQUE (template_id, version)
);
