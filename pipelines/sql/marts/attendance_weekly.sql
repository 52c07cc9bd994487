-- one row per session week (Monday), participant program, site, program_track, cohort_month and format; expected = attended + no_show (cancelled and excused are not expected); sessions inside each participant's follow-up only (intermediate.visits)
with

people as (
    -- each participant's site x track x cohort cell, numbered (nulls make a cell too): summing millions of
    -- person-weeks per small integer costs a third of summing them per three text and date columns
    select
        participant_key,
        program,
        site,
        program_track,
        cohort_month,
        dense_rank() over (order by program, site, program_track, cohort_month) as cell_id
    from intermediate.follow_up
),

cells as (
    select distinct cell_id, program, site, program_track, cohort_month from people
),

expected as (
    select participant_key, date_trunc('week', session_date)::date as week_start, format, is_attended
    from intermediate.visits
),

person_weeks as (
    -- one row per participant, week and format: a participant has one site, track and cohort, so counting
    -- these rows per cell counts distinct people
    select
        participant_key,
        week_start,
        format,
        count(*) as n_expected,
        count(*) filter (where is_attended) as n_attended,
        count(*) filter (where not is_attended) as n_no_show
    from expected
    group by all
),

cell_weeks as (
    select
        w.week_start,
        p.cell_id,
        w.format,
        sum(w.n_expected)::integer as n_expected,
        sum(w.n_attended)::integer as n_attended,
        sum(w.n_no_show)::integer as n_no_show,
        count(*)::integer as n_people
    from person_weeks as w
    join people as p using (participant_key)
    group by all
),

final as (
    select
        w.week_start,
        c.program,
        c.site,
        c.program_track,
        c.cohort_month,
        w.format::varchar as format,
        w.n_expected,
        w.n_attended,
        w.n_no_show,
        w.n_people
    from cell_weeks as w
    join cells as c using (cell_id)
)

select * from final
