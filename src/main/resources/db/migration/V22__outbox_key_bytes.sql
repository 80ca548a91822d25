-- A record's key as its bytes: a client's Kafka key may hold U+0000, which PostgreSQL text refuses, so an unreadable
-- request with such a key could not be dead-lettered "as received" and was dropped. The relay sends these bytes as
-- the key; for every key stored so far (text) they are its UTF-8 encoding, which is what StringSerializer sent.
alter table outbox alter column message_key type bytea using convert_to(message_key, 'UTF8');
