-- one row per expected session (attended or no_show; cancelled and excused are not expected) inside the participant's follow-up (intermediate.follow_up); day = days since enrollment; is_attended false = no_show
-- Sessions before enrollment or after the end of follow-up are ignored by every mart: the rule lives here only.
with

expected as (
    select a.participant_key, s.session_date, s.format, a.status
    from main.attendance as a
    join main.sessions as s using (session_key)
    where a.status in ('attended', 'no_show')
        -- implied by the follow-up window below (it ends by its program's as_of), and kept for speed: with a
        -- filter on each side DuckDB builds its join table on the sessions, not on the three times larger
        -- attendance (whose status filter it guesses keeps a fifth): ~20% less CPU (bench_marts.py --warehouse)
        and s.session_date <= (select max(as_of) from main.programs)
),

final as (
    select
        v.participant_key,
        v.session_date,
        (v.session_date - f.enrolled_on)::integer as day,
        -- an enum (contract.FORMATS), not text: the marts group and filter on it millions of times, and a one-byte
        -- code halves the cost of grouping on the text (attendance_weekly casts it back for its rows)
        v.format::enum('one_on_one', 'group', 'online', 'workshop') as format,
        v.status = 'attended' as is_attended  -- a boolean: every mart filters on it, millions of times
    from expected as v
    join intermediate.follow_up as f using (participant_key)
    where v.session_date between f.enrolled_on and f.follow_up_end_on
)

select * from final
