-- 003_rendering: what a campaign adds to its messages, and its links.

-- Message options as a JSON object: "variables" ("lenient" or "strict"),
-- "headers" (an array of [name, value]), "list_id", "feedback_id".
ALTER TABLE campaigns ADD COLUMN options TEXT NOT NULL DEFAULT '{}'
	CHECK (json_valid(options));

-- The targets of a campaign's tracked links, by their index in the HTML.
-- A click token carries only (campaign, recipient, index); the redirect
-- goes where this row says, so no request can choose it.
CREATE TABLE campaign_links (
	campaign_id	INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
	idx		INTEGER NOT NULL,
	url		TEXT NOT NULL,
	PRIMARY KEY (campaign_id, idx)
) WITHOUT ROWID;
