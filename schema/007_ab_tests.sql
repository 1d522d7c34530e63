-- 007_ab_tests: a campaign with two to four variants (a subject or a
-- whole template each) sends them to a test share of its audience, waits,
-- picks the variant with the most human opens or clicks per delivery and
-- sends that one to the rest.

-- Variant 0 is the campaign's own template; subject NULL: the template's.
CREATE TABLE campaign_variants (
	campaign_id	INTEGER NOT NULL REFERENCES campaigns(id)
			ON DELETE CASCADE,
	variant		INTEGER NOT NULL CHECK (variant BETWEEN 0 AND 3),
	template_version_id INTEGER NOT NULL
			REFERENCES template_versions(id) ON DELETE RESTRICT,
	subject		TEXT,
	PRIMARY KEY (campaign_id, variant)
);

-- NULL: no test (every delivery of a campaign without variants); 0 to 3:
-- the test variant it gets; -1: held for the winner, never claimed; 4 to
-- 7: the rest, handed the winner (variant - 4) when it was picked.
ALTER TABLE deliveries ADD COLUMN variant INTEGER;

ALTER TABLE campaigns ADD COLUMN ab_share INTEGER;	-- percent in the test
ALTER TABLE campaigns ADD COLUMN ab_wait INTEGER;	-- ms after the test went
ALTER TABLE campaigns ADD COLUMN ab_metric TEXT
	CHECK (ab_metric IN ('opens', 'clicks'));
ALTER TABLE campaigns ADD COLUMN ab_winner INTEGER;
ALTER TABLE campaigns ADD COLUMN ab_decided_at INTEGER;
