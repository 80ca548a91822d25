-- A request whose text went to its client token by token as it was generated (a live stream: decided at acceptance,
-- when the policy then in force could neither withhold nor regenerate the output). Its output is the client's however
-- the policy changes before the job ends: judged and audited as delivered, never regenerated or withheld. A constant
-- default adds the column without rewriting the table; a gateway of the previous release leaves it false, as it was.
alter table generations add column live_stream boolean not null default false;
