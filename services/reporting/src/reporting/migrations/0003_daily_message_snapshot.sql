-- The daily message is rendered when the day is claimed, from the same figures as its
-- report.daily_ready event, so the chat and the event never disagree about one day.
ALTER TABLE notifications ADD COLUMN message text;
