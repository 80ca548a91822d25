-- The evaluation gate (io.steergate.retraining.GateRule): after a fit, the trainer measures the candidate against the
-- intervention's active version (or the unsteered model) on held-out prompts and stores the verdict and the report.
-- retraining_jobs.evaluation_spec_json: what the gate measures with ({"prompts","concept","desired","strength"}, the
--   request's or the intervention's default); null when the job is not evaluated (no default, none asked for).
-- retraining_jobs.gate: PASSED or REFUSED once evaluated; evaluation_json the report (both measurements, intervals,
--   perplexities, the rule, prompt set hashes, what happened to the version).
alter table retraining_jobs add column evaluation_spec_json text;
alter table retraining_jobs add column gate varchar(16) check (gate in ('PASSED', 'REFUSED'));
alter table retraining_jobs add column evaluation_json text;
-- The verdict travels with the version, so promotion can refuse a REFUSED one without reading jobs; an operator who
-- promotes it anyway (overrideGate) is recorded here.
alter table intervention_versions add column gate varchar(16) check (gate in ('PASSED', 'REFUSED'));
alter table intervention_versions add column gate_override_by varchar(128);
alter table intervention_versions add column gate_override_at timestamp with time zone;
