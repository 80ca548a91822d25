-- Attempts of the jobs a worker started (io.steergate.worker.JobAttempts). A row is written before a job is generated
-- and deleted once its result is acknowledged by the broker, so the rows left are jobs in flight or jobs whose
-- attempts ended without a result (the worker failed or stopped); those run alone, then go to the job dead-letter
-- topic at steergate.worker.max-attempts. Rows of dead-lettered jobs are kept: a redelivery is dead-lettered again.
create table job_attempts (
    request_id  text         primary key,
    attempts    integer      not null,
    last_error  text,
    updated_at  timestamp with time zone not null
);
