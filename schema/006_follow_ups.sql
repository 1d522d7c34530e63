-- 006_follow_ups: a campaign that follows up another. Its recipients are
-- chosen when it starts, from those its parent delivered to, by what they
-- did with the parent (human opens and clicks only); it is due
-- follow_up_after ms after the parent finished, which `send --due`
-- computes from the parent's finished_at, whenever that comes.
ALTER TABLE campaigns ADD COLUMN follow_up_of INTEGER
	REFERENCES campaigns(id) ON DELETE RESTRICT;
ALTER TABLE campaigns ADD COLUMN follow_up_audience TEXT CHECK
	(follow_up_audience IN ('opened', 'not-opened', 'clicked',
	 'not-clicked'));
ALTER TABLE campaigns ADD COLUMN follow_up_after INTEGER;
CREATE INDEX campaigns_follow_up ON campaigns(follow_up_of)
	WHERE follow_up_of IS NOT NULL;
