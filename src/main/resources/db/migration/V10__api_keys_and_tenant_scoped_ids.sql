-- API keys issued by SteerGate (io.steergate.security.ApiKeys). The key itself is shown once and never stored: only
-- its SHA-256, which is enough for a random 256-bit key (no dictionary to try; a slow password hash buys nothing).
create table api_keys (
    id                 varchar(32)  primary key,        -- public handle: listed, revoked, logged
    key_hash           varchar(64)  not null unique,    -- hex SHA-256 of the whole key
    tenants            text         not null,           -- comma-separated tenant names, or '*' for all tenants
    roles              text         not null,           -- comma-separated: client, reviewer, auditor, operator
    description        varchar(256),
    created_by         varchar(160) not null,
    created_at         timestamp with time zone not null,
    expires_at         timestamp with time zone,        -- null: never
    revoked_at         timestamp with time zone
);

-- A request id is unique per tenant, not globally: two tenants may both send "req-1" and each gets its own
-- generation. A request rejected before its tenant could be read has tenant null; those stay unique among themselves.
alter table generations drop constraint generations_request_id_key;
create unique index generations_tenant_request on generations (tenant, request_id) where tenant is not null;
create unique index generations_untenanted_request on generations (request_id) where tenant is null;
-- a caller trusted with every tenant may look an id up without naming its tenant
create index generations_request on generations (request_id);
