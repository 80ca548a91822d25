-- An audit record is at a place in its tenant's chain, 1 and up. The application's role may insert records, and one
-- inserted at position 0 or below was never read by a verify or an export, which walk positions 1 and up, while the
-- audit list, the review queue and the retraining triggers showed it. Refused from now on; NOT VALID so that an
-- upgrade does not scan the table or fail on a row already there: GET /v1/audit/verify names any such row, since it
-- compares the records it walked with those the table holds for the chain.
alter table audit_records add constraint audit_records_chain_position check (chain_seq >= 1) not valid;
