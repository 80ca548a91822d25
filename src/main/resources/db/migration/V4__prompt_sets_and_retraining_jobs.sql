-- Prompt sets imported over HTTP, which retraining jobs train on. A name is immutable once stored: importing the same
-- texts again is a no-op, other texts under a taken name are refused, so a job's data can always be traced by name.
create table prompt_sets (
    name               varchar(64)  primary key,
    texts_json         text         not null,        -- JSON array of the texts, in order
    sha256             varchar(64)  not null,        -- PromptSet.sha256 of the texts
    size               integer      not null,
    created_at         timestamp with time zone not null
);

-- Requests to train an intervention, run by the trainer role (steer.retraining carries the id).
-- status: QUEUED -> RUNNING -> SUCCEEDED | FAILED; heartbeat_at tells a live RUNNING job from an orphaned one.
create table retraining_jobs (
    id                   uuid         primary key,
    intervention         varchar(64)  not null,
    kind                 varchar(16),                 -- for a new intervention; null keeps the existing kind
    description          text,
    method               varchar(16)  not null check (method in ('linear-act', 'mean-shift', 'lineas')),
    source_set           varchar(64)  not null references prompt_sets (name),
    target_set           varchar(64)  not null references prompt_sets (name),
    sites                text         not null,       -- the site spec as requested, e.g. resid or layers.0-2.resid
    hyperparameters_json text         not null,
    promote              boolean      not null,
    status               varchar(16)  not null check (status in ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')),
    attempts             integer      not null default 0,
    progress_json        text,
    result_version       integer,
    metrics_json         text,
    error                text,
    requested_by         varchar(128) not null,
    created_at           timestamp with time zone not null,
    started_at           timestamp with time zone,
    heartbeat_at         timestamp with time zone,
    finished_at          timestamp with time zone
);
create index retraining_jobs_newest on retraining_jobs (created_at desc);
create index retraining_jobs_intervention on retraining_jobs (intervention, created_at desc);
