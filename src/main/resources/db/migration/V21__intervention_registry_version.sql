-- A counter every change to the registry moves, in the changing transaction (InterventionRegistry's read cache checks
-- it once per transaction instead of reading the registry on every decision). Set by a trigger, so that no writer can
-- forget it; from a sequence, so that a value a rolled-back transaction saw is never committed later for other data.
create sequence intervention_registry_versions;

create table intervention_registry_version (
    singleton  boolean primary key default true check (singleton),
    version    bigint  not null
);
insert into intervention_registry_version (version) values (nextval('intervention_registry_versions'));

create function bump_intervention_registry_version() returns trigger language plpgsql as $$
begin
    update intervention_registry_version set version = nextval('intervention_registry_versions');
    return null;
end
$$;

create trigger interventions_changed after insert or update or delete or truncate on interventions
    for each statement execute function bump_intervention_registry_version();
create trigger intervention_versions_changed after insert or update or delete or truncate on intervention_versions
    for each statement execute function bump_intervention_registry_version();
