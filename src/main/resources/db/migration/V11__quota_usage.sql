-- Per-tenant quota counters (io.steergate.gateway.Quotas), shared by every gateway process: one row per tenant, kind
-- and window (kind 'requests': the UTC minute; 'tokens': the UTC day, completion tokens). Charged with one
-- INSERT ... ON CONFLICT DO UPDATE ... RETURNING in the transaction that accepts the request (or completes its job),
-- so a charge is kept exactly when the outcome is. Rows of past windows are deleted as new windows begin.
create table quota_usage (
    tenant        text                     not null,
    kind          varchar(16)              not null check (kind in ('requests', 'tokens')),
    window_start  timestamp with time zone not null,
    used          bigint                   not null,
    primary key (tenant, kind, window_start)
);
