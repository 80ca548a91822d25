-- Recovery of retraining jobs (io.steergate.retraining.RetrainingRecovery, trainer role). A QUEUED job whose record
-- was lost, or a RUNNING job whose trainer died, is re-queued with a fresh steer.retraining record, up to
-- steergate.retraining.max-attempts trainings in all.
-- queued_at: when the job's latest record was queued (created_at, or the last re-queue); the grace for a lost record
--            counts from here.
-- last_error: why the latest attempt ended without a result ("trainer died (heartbeat 7 min old)", a training error);
--             kept when a later attempt succeeds. error stays the reason a FAILED job finally failed.
alter table retraining_jobs add column queued_at timestamp with time zone;
update retraining_jobs set queued_at = created_at;
alter table retraining_jobs alter column queued_at set not null;
alter table retraining_jobs add column last_error text;
-- the sweep reads only unfinished jobs
create index retraining_jobs_unfinished on retraining_jobs (status) where status in ('QUEUED', 'RUNNING');
