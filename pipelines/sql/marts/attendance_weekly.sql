-- one row per session week (Monday), participant site, program_track, cohort_month and format; expected = attended + no_show (cancelled and excused are not expected); sessions inside each participant's follow-up only
with

follow_up as (
    select participant_key, site, program_track, cohort_month, enrolled_on, follow_up_end_on
    from marts.retention
),

expected as (
    select
        date_trunc('week', s.session_date)::date as week_start,
        f.site,
        f.program_track,
        f.cohort_month,
        s.format,
        a.participant_key,
        a.status
    from main.attendance as a
    join main.sessions as s using (session_key)
    join follow_up as f using (participant_key)
    where a.status in ('attended', 'no_show')
      and s.session_date between f.enrolled_on and f.follow_up_end_on
),

final as (
    select
        week_start,
        site,
        program_track,
        cohort_month,
        format,
        count(*)::integer as n_expected,
        count(*) filter (where status = 'attended')::integer as n_attended,
        count(*) filter (where status = 'no_show')::integer as n_no_show,
        count(distinct participant_key)::integer as n_people
    from expected
    group by all
)

select * from final
