-- A row the broker refuses for good (too large, an invalid topic, no authorization) must not block the rows behind it:
-- each refusal is counted with its reason, and after steergate.outbox.max-attempts the row is set aside (kept, never
-- published, visible in a metric and in this table) instead of being retried for ever.
alter table outbox add column attempts integer not null default 0;
alter table outbox add column last_error text;
alter table outbox add column set_aside_at timestamp with time zone;
create index outbox_waiting on outbox (id) where set_aside_at is null;
