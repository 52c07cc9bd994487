-- one row per filter cell (program, site, program_track, cohort_month, is_matched), measure and band: participant-weeks of marts.check_in_weekly, relapses and people, by sessions attended the week before (measure sessions_last_week: 0, 1, 2, 3+) and reached check-ins the week before (check_ins_last_week: 0, 1, 2+), and over all weeks (any_week: any); a participant sits in one cell, so people add up over cells
with

weeks as (
    select
        w.participant_key,
        p.program,
        p.site,
        p.program_track,
        p.cohort_month,
        p.is_matched,
        w.is_relapse,
        case when w.n_attended_prev_week >= 3 then '3+' else cast(w.n_attended_prev_week as varchar) end
            as sessions_band,
        case when w.n_reached_prev_week >= 2 then '2+' else cast(w.n_reached_prev_week as varchar) end
            as check_ins_band
    from marts.check_in_weekly as w
    join marts.participant_outcomes as p using (participant_key)
),

people as (  -- per participant first, then per cell: a participant sits in one cell, so people add up (and the
            -- sums spill to disk where a count(distinct) could not: tests/unit/test_etl_memory.py)
    select
        program, site, program_track, cohort_month, is_matched, participant_key, 'sessions_last_week' as measure,
        sessions_band as band, count(*) as person_weeks, sum(is_relapse) as n_relapses
    from weeks
    group by all
    union all
    select
        program, site, program_track, cohort_month, is_matched, participant_key, 'check_ins_last_week',
        check_ins_band, count(*), sum(is_relapse)
    from weeks
    group by all
    union all
    select
        program, site, program_track, cohort_month, is_matched, participant_key, 'any_week', 'any', count(*),
        sum(is_relapse)
    from weeks
    group by all
),

final as (
    select
        program, site, program_track, cohort_month, is_matched, measure, band, sum(person_weeks) as person_weeks,
        sum(n_relapses) as n_relapses, count(*) as n_people
    from people
    group by all
)

select * from final
