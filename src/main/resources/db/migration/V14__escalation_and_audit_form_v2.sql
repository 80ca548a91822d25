-- Escalation and counterfactuals (policies/README.md "Escalation", "Counterfactual sampling").
-- A generation escalated by its policy stays PENDING across attempts: attempt is the attempt whose job is in flight
-- (its job key is g<id> for attempt 0, g<id>.<attempt> after), attempts_json what the earlier ones gave (the gateway's
-- EscalationAttempt list), counterfactual_text the unsteered continuation the first attempt's worker returned, and
-- deliver_counterfactual whether the policy puts it in the client's result.
alter table generations add column attempt integer not null default 0;
alter table generations add column attempts_json text;
alter table generations add column counterfactual_text text;
alter table generations add column deliver_counterfactual boolean not null default false;

-- Audit records in canonical form v2 (io.steergate.audit.AuditChain) also hash every attempt and the counterfactual.
-- Records written before keep form 1 and their hashes: the verifiers read each record's form. Adding columns with a
-- default changes no row (the update trigger does not fire), so the chains stay as they were.
alter table audit_records add column canonical_form integer not null default 1;
alter table audit_records add column attempts_json text;
alter table audit_records add column counterfactual_text text;
