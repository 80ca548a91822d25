-- Tamper-evident audit (io.steergate.audit.AuditChain has the canonical form; README "Audit evidence").
-- Each audit record carries its place in its tenant's chain (chain_seq 1, 2, ...) and
-- hash = sha256(hash of the tenant's previous record || canonical bytes of the record), hex; the first record of a
-- chain follows 32 zero bytes. Records without a tenant form one chain of their own (chain key '').
alter table audit_records add column chain_seq bigint;
alter table audit_records add column hash varchar(64);

-- The head of each chain: the row AuditLog locks (insert ... on conflict do update) before it appends, so the
-- inserts of one tenant are serialised and concurrent writers cannot fork its chain. records and last_hash also
-- let verification notice records deleted from the end of a chain.
create table audit_chain_heads (
    tenant     varchar(64) primary key,   -- the chain key: the tenant, '' for records without one
    records    bigint      not null,
    last_id    bigint,
    last_hash  varchar(64) not null
);

-- Records written before this migration get their chain here, in id order per tenant. The functions are temporary
-- (this session only): the one lasting definition of the canonical form is AuditChain's, which
-- AuditDatabaseRolesTest checks against these.
create function pg_temp.audit_field(value text) returns bytea language sql immutable as $$
    select case when value is null then '\x00'::bytea
                else '\x01'::bytea || int4send(octet_length(convert_to(value, 'UTF8'))) || convert_to(value, 'UTF8')
           end
$$;

create function pg_temp.audit_canonical(r audit_records, seq bigint) returns bytea language sql immutable as $$
    select pg_temp.audit_field('steergate.audit/v1')
        || pg_temp.audit_field(r.id::text)
        || pg_temp.audit_field(r.tenant)
        || pg_temp.audit_field(seq::text)
        || pg_temp.audit_field(r.request_id)
        || pg_temp.audit_field(to_char(r.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || pg_temp.audit_field(r.status)
        || pg_temp.audit_field(r.model_name)
        || pg_temp.audit_field(r.model_fingerprint)
        || pg_temp.audit_field(r.policy_id)
        || pg_temp.audit_field(r.policy_version)
        || pg_temp.audit_field(r.applied_json)
        || pg_temp.audit_field(r.scores_json)
        || pg_temp.audit_field(r.decision_trace_json)
        || pg_temp.audit_field(r.output_text)
        || pg_temp.audit_field(r.error_code)
        || pg_temp.audit_field(r.error_message)
        || pg_temp.audit_field(r.queue_ms::text)
        || pg_temp.audit_field(r.generate_ms::text)
        || pg_temp.audit_field(r.total_ms::text)
$$;

alter table audit_records disable trigger audit_records_no_update;
do $$
declare
    r          audit_records;
    chain_key  text;
    seq        bigint := 0;
    previous   text;
begin
    for r in select * from audit_records order by coalesce(tenant, ''), id loop
        if chain_key is null or chain_key <> coalesce(r.tenant, '') then
            chain_key := coalesce(r.tenant, '');
            seq := 0;
            previous := repeat('0', 64);
        end if;
        seq := seq + 1;
        previous := encode(sha256(decode(previous, 'hex') || pg_temp.audit_canonical(r, seq)), 'hex');
        update audit_records set chain_seq = seq, hash = previous where id = r.id;
    end loop;
end $$;
alter table audit_records enable trigger audit_records_no_update;

insert into audit_chain_heads (tenant, records, last_id, last_hash)
    select distinct on (coalesce(tenant, '')) coalesce(tenant, ''), chain_seq, id, hash
    from audit_records order by coalesce(tenant, ''), chain_seq desc;

alter table audit_records alter column chain_seq set not null;
alter table audit_records alter column hash set not null;
-- one record per place in a chain: a second writer that somehow skipped the head's lock fails instead of forking
create unique index audit_records_chain on audit_records (coalesce(tenant, ''), chain_seq);

-- The application's role (${app_role}, by default quarkus.datasource.username) may read everything and change the
-- ordinary tables, but only INSERT (and SELECT) audit records and review verdicts: no UPDATE, DELETE or TRUNCATE.
-- Tables and sequences the migration role creates later (V10 and on) give the application ordinary DML by default.
-- When the application runs as the migration role itself there is nothing to separate: the triggers of V1 and V5
-- still refuse updates and deletes, but the owner could drop them.
do $$
declare
    app   text := '${app_role}';
    space text := current_schema();
begin
    if app = current_user then
        raise notice 'the application role % is the migration role: no privilege separation for the audit tables', app;
        return;
    end if;
    execute format('grant select, insert, update, delete on all tables in schema %I to %I', space, app);
    execute format('grant usage, select on all sequences in schema %I to %I', space, app);
    execute format('revoke update, delete, truncate on audit_records, review_verdicts from %I', app);
    if to_regclass('flyway_schema_history') is not null then
        execute format('revoke all on flyway_schema_history from %I', app);
    end if;
    execute format('alter default privileges in schema %I grant select, insert, update, delete on tables to %I', space, app);
    execute format('alter default privileges in schema %I grant usage, select on sequences to %I', space, app);
end $$;
