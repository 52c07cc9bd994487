-- one row per filter cell (program, site, program_track, cohort_month, is_matched) and distinct counting-process row of marts.check_in_weekly ((start_days, stop_days], is_relapse) with the previous week's attended sessions and reached check-ins; n_rows such participant-weeks: the sufficient statistics of the time-varying dose and check-in Cox models (frequency weights) for any union of cells
with

people as (
    -- each participant's cell, numbered: counting 1.4 M participant-weeks per small integer, not per four text
    -- and date columns, then naming the few thousand cells
    select
        participant_key, program, site, program_track, cohort_month, is_matched,
        dense_rank() over (order by program, site, program_track, cohort_month, is_matched) as cell_id
    from marts.participant_outcomes
),

cells as (
    select distinct cell_id, program, site, program_track, cohort_month, is_matched from people
),

counts as (
    select
        p.cell_id, w.start_days, w.stop_days, w.is_relapse, w.n_attended_prev_week, w.n_reached_prev_week,
        count(*) as n_rows
    from marts.check_in_weekly as w
    join people as p using (participant_key)
    group by all
),

final as (
    select
        c.program,
        c.site,
        c.program_track,
        c.cohort_month,
        c.is_matched,
        w.start_days,
        w.stop_days,
        w.is_relapse,
        w.n_attended_prev_week,
        w.n_reached_prev_week,
        w.n_rows
    from counts as w
    join cells as c using (cell_id)
)

select * from final
