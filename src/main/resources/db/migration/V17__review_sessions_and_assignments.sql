-- The reviewers' web UI (/review, io.steergate.review; README "Review UI").

-- A signed-in browser: the cookie holds a random token, this table only its SHA-256 (as api_keys holds keys). The
-- session acts for the API key it was opened with (key_id): revoking or expiring that key ends the session too.
create table review_sessions (
    token_hash   varchar(64)  primary key,
    key_id       varchar(32)  not null references api_keys (id),
    reviewer     varchar(160) not null,       -- the credential's name, recorded as the reviewer of verdicts
    tenants      text         not null,       -- comma-separated, or '*'
    created_at   timestamp with time zone not null,
    expires_at   timestamp with time zone not null
);
create index review_sessions_expiry on review_sessions (expires_at);

-- Who is reviewing what: one row per (audit record, review slot), slot 1 the first review and slot 2 the second
-- reviewer that agreement sampling asks for. The primary key makes a claim exclusive: a session takes a slot with
-- insert ... on conflict do update ... where the holder's claim expired, so two sessions never hold one slot.
create table review_assignments (
    audit_id      bigint       not null references audit_records (id),
    slot          smallint     not null check (slot in (1, 2)),
    session_hash  varchar(64)  not null,
    reviewer      varchar(160) not null,
    assigned_at   timestamp with time zone not null,
    expires_at    timestamp with time zone not null,
    primary key (audit_id, slot)
);
create index review_assignments_session on review_assignments (session_hash);
