-- one row per session week (Monday), participant site, program_track, cohort_month and format; expected = attended + no_show (cancelled and excused are not expected); sessions inside each participant's follow-up only (intermediate.visits)
with

follow_up as (
    select participant_key, site, program_track, cohort_month from intermediate.follow_up
),

expected as (
    select participant_key, date_trunc('week', session_date)::date as week_start, format, status
    from intermediate.visits
),

person_weeks as (
    -- one row per participant, week and format: a participant has one site, track and cohort, so counting
    -- these rows per group counts distinct people
    select
        participant_key,
        week_start,
        format,
        count(*) as n_expected,
        count(*) filter (where status = 'attended') as n_attended,
        count(*) filter (where status = 'no_show') as n_no_show
    from expected
    group by all
),

final as (
    select
        w.week_start,
        f.site,
        f.program_track,
        f.cohort_month,
        w.format,
        sum(w.n_expected)::integer as n_expected,
        sum(w.n_attended)::integer as n_attended,
        sum(w.n_no_show)::integer as n_no_show,
        count(*)::integer as n_people
    from person_weeks as w
    join follow_up as f using (participant_key)
    group by all
)

select * from final
