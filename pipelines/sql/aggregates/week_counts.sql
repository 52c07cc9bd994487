-- one row per filter cell (program, site, program_track, cohort_month, is_matched) and distinct counting-process row of marts.check_in_weekly ((start_days, stop_days], is_relapse) with the previous week's attended sessions and reached check-ins; n_rows such participant-weeks: the sufficient statistics of the time-varying dose and check-in Cox models (frequency weights) for any union of cells
with

weeks as (
    select participant_key, start_days, stop_days, is_relapse, n_attended_prev_week, n_reached_prev_week
    from marts.check_in_weekly
),

final as (
    select
        p.program,
        p.site,
        p.program_track,
        p.cohort_month,
        p.is_matched,
        w.start_days,
        w.stop_days,
        w.is_relapse,
        w.n_attended_prev_week,
        w.n_reached_prev_week,
        count(*) as n_rows
    from weeks as w
    join marts.participant_outcomes as p using (participant_key)
    group by all
)

select * from final
