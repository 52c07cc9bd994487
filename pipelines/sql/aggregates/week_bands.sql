-- one row per filter cell (program, site, program_track, cohort_month, is_matched), measure and band: participant-weeks of marts.check_in_weekly, relapses and people, by sessions attended the week before (measure sessions_last_week: 0, 1, 2, 3+) and reached check-ins the week before (check_ins_last_week: 0, 1, 2+), and over all weeks (any_week: any); a participant sits in one cell, so people add up over cells
with

person_bands as (
    -- per participant and pair of bands first, in one grouping of the participant-weeks (a dozen pairs at most, a
    -- few a participant): each measure below sums these few rows per participant, not the weeks again
    select
        participant_key,
        least(n_attended_prev_week, 3) as sessions_band,
        least(n_reached_prev_week, 2) as check_ins_band,
        count(*) as person_weeks,
        sum(is_relapse) as n_relapses
    from marts.check_in_weekly
    group by all
),

people as (  -- per participant first, then per cell: a participant sits in one cell, so people add up (and the
            -- sums spill to disk where a count(distinct) could not: tests/unit/test_etl_memory.py)
    select
        participant_key, 'sessions_last_week' as measure,
        case when sessions_band = 3 then '3+' else cast(sessions_band as varchar) end as band,
        sum(person_weeks) as person_weeks, sum(n_relapses) as n_relapses
    from person_bands
    group by all
    union all
    select
        participant_key, 'check_ins_last_week',
        case when check_ins_band = 2 then '2+' else cast(check_ins_band as varchar) end,
        sum(person_weeks), sum(n_relapses)
    from person_bands
    group by all
    union all
    select participant_key, 'any_week', 'any', sum(person_weeks), sum(n_relapses)
    from person_bands
    group by all
),

final as (
    select
        p.program, p.site, p.program_track, p.cohort_month, p.is_matched, w.measure, w.band,
        sum(w.person_weeks) as person_weeks, sum(w.n_relapses) as n_relapses, count(*) as n_people
    from people as w
    join marts.participant_outcomes as p using (participant_key)
    group by all
)

select * from final
