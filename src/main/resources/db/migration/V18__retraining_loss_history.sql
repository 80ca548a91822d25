-- The loss curve of a retraining job (the review UI draws it; GET /v1/retraining-jobs/{id} has it as lossHistory):
-- [[step, loss], ...] in step order, at most 500 points, thinned to every other kept step when longer
-- (io.steergate.retraining.LossHistory). Written with each progress heartbeat; null for methods without a loss.
alter table retraining_jobs add column loss_history_json text;
