-- A key PostgreSQL text cannot hold (U+0000, from a client's Kafka key) is kept as its UTF-8 bytes beside the text
-- column, which stays null for that row only; before, an unreadable request with such a key could be neither
-- dead-lettered nor answered and was dropped. Added beside, not converted in place, so that a gateway of the previous
-- release keeps reading and writing the text column during a rolling upgrade.
alter table outbox add column message_key_bytes bytea;
