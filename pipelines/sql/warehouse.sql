-- The warehouse's core tables: pseudonymized contract rows, lineage and quarantine.
-- Facts carry integer surrogate keys; the keyed pseudonym lives once, on the person's row.
create table if not exists settings (
    as_of date not null,            -- data cutoff used by the marts
    gap_days integer not null,      -- disengagement rule
    milestone_days integer[] not null,  -- the sobriety milestones the marts follow
    supervision_hours double not null,  -- supervision policy: hours an active mentor should get a month
    key_id varchar not null,        -- id of the pseudonym key (first 16 hex of sha256(key))
    contract_version varchar not null,
    data_version varchar not null,  -- sha256 over the load batches' file hashes: changes when data does
    built_at timestamp not null
);

create table if not exists programs (
    -- one row per program loaded (etl --program): its own cutoff and load settings, which bound its follow-up
    -- in the marts; `settings` keeps the latest load's, for readers that know one program
    program varchar not null,       -- unique: a short code (letters, digits, - and _)
    program_name varchar,           -- the name mapping.yaml gives it (program_name), shown on pages
    as_of date not null,
    gap_days integer not null,
    milestone_days integer[] not null,
    supervision_hours double not null,
    key_id varchar not null,        -- id of this program's own pseudonym key (pseudonym.program_key)
    built_at timestamp not null     -- when this program was last loaded
);

create table if not exists matched_tracks (
    -- the tracks whose participants are meant to have a mentor (mapping.yaml `matched_tracks`), written by
    -- every load; empty: every track in which anyone was matched (marts.participant_outcomes)
    program_track varchar not null,
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists participants (
    participant_key integer not null,          -- unique: the ETL assigns it (no index: loads stay fast)
    participant_pid varchar not null,          -- HMAC-SHA256 pseudonym, 64 hex; unique
    site varchar not null,
    enrolled_on date not null,
    program_track varchar,
    age_at_enrollment smallint,                -- top-coded at 90
    gender varchar,
    race_ethnicity varchar,
    primary_substance varchar,
    referral_source varchar,
    recovery_start_on date,
    prior_treatment_episodes integer,
    housing_at_intake varchar,
    employed_at_intake boolean,
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
    -- declared covariates from mapping.yaml are appended as extra columns
);

create table if not exists mentors (
    mentor_key integer not null,               -- unique
    mentor_pid varchar not null,               -- unique
    site varchar not null,
    started_on date not null,
    recovery_start_on date,
    certified_on date,
    gender varchar,
    primary_substance varchar,
    former_participant_pid varchar,           -- the participant this mentor once was: their pseudonym, joinable
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
                                               -- to participants.participant_pid (null when not a former mentee)
);

create table if not exists matches (
    participant_key integer not null,
    mentor_key integer not null,
    matched_on date not null,
    ended_on date,
    end_reason varchar,
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists sessions (
    session_key integer not null,              -- unique
    session_id varchar not null,               -- unique; the program's session id (not a person identifier)
    site varchar not null,
    session_date date not null,
    format varchar not null,                   -- one_on_one, group, online, workshop
    mentor_key integer,
    duration_minutes integer,
    topic varchar,
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists attendance (
    session_key integer not null,
    participant_key integer not null,
    status varchar not null,                   -- attended, no_show, cancelled, excused
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists milestones (
    participant_key integer not null,
    milestone_days integer not null,
    achieved_on date not null,
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists substance_use (
    participant_key integer not null,
    event_on date not null,
    kind varchar not null,                     -- lapse, relapse
    substance varchar,
    source varchar,
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists exits (
    participant_key integer not null,
    exit_on date not null,
    reason varchar not null,
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

-- Mentoring practice (issue 15): optional files; an export without them leaves these tables empty.
create table if not exists goals (
    goal_id varchar not null,                  -- unique; the program's goal record id (free-text descriptions never load)
    participant_key integer not null,
    mentor_key integer,
    domain varchar not null,                   -- recovery, health, housing, employment, education, family, legal, other
    set_on date not null,
    target_on date,
    status varchar not null,                   -- open, met, revised, abandoned
    status_on date not null,                   -- when the status was last set
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists check_ins (
    participant_key integer not null,
    mentor_key integer not null,
    checked_in_on date not null,
    mode varchar not null,                     -- in_person, phone, text, video
    reached boolean not null,
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists referrals (
    referral_id varchar not null,              -- unique
    participant_key integer not null,
    mentor_key integer,
    made_on date not null,
    resource_type varchar not null,            -- treatment, mat, detox, mutual_aid, housing, employment, legal, health, other
    outcome varchar not null,                  -- connected, declined, pending, unknown
    connected_on date,                         -- only when outcome = connected; not before made_on
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists mentor_activity (
    mentor_key integer not null,               -- unique with month
    month date not null,                       -- first day of the month
    supervision_hours double not null,
    training_hours double not null,
    active boolean not null,                   -- had mentees that month
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists incidents (
    incident_id varchar not null,              -- unique; no narrative is ever loaded
    mentor_key integer not null,
    participant_key integer,
    occurred_on date not null,
    kind varchar not null,                     -- boundary, confidentiality, safety, conduct, other
    severity varchar not null,                 -- low, moderate, high
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists load_batches (
    batch_id varchar not null,                 -- one id per ETL run
    entity varchar not null,
    file_name varchar not null,                -- base name only
    sha256 varchar not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    dropped_columns varchar[],
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,                   -- loaded, unchanged, failed
    program varchar not null default 'main'   -- the program the row was loaded under (etl --program)
);

create table if not exists quarantine (
    batch_id varchar not null,
    entity varchar not null,
    file_name varchar not null,
    line bigint not null,                      -- spreadsheet row: header is line 1
    column_name varchar,
    value varchar,                             -- null for identifiers and dropped columns
    reason varchar not null                    -- plain words a coordinator understands
);

-- Quarantined rows with their kind of problem: "duplicate of line 12" and "duplicate of line 40" are one
-- kind. The status report and the dashboard both count by reason_kind, so the rule lives here only.
create or replace view quarantine_kinds as
select *, regexp_replace(reason, '^duplicate of line [0-9]+$', 'duplicate of an earlier line') as reason_kind
from quarantine;
