-- Housekeeping looks for old rows every few minutes; without these it would read the whole
-- inbox (30 days of events) and the whole published outbox each time.
CREATE INDEX inbox_by_received_at ON inbox (received_at);
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
