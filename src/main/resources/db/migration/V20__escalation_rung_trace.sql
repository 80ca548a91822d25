-- The decision trace of the escalation rung whose job is in flight (GenerationService.escalate), kept with that
-- attempt in attempts_json once its result is scored: how each rung was planned is audited, not only rung 0's.
alter table generations add column rung_trace_json text;
