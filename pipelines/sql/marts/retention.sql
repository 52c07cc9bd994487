-- one row per participant enrolled by as_of; origin enrolled_on; event disengaged (exit dropped_out, or the first gap of >= gap_days without an attended session, dated at the attended session or enrollment before it); completion competing; censored at any other exit or at as_of
-- Follow-up (intermediate.follow_up) runs from enrolled_on to the exit (if on or after enrollment and not after as_of) or as_of.
-- Sessions before enrollment or after the end of follow-up are ignored (intermediate.visits; docs/outcomes.md#retention).
with

follow_up as (
    select participant_key, program, site, program_track, enrolled_on, cohort_month, exit_on, exit_reason,
        follow_up_end_on, follow_up_days, gap_days
    from intermediate.follow_up
),

attended as (
    -- one row per attended session inside follow-up, with its day since enrollment
    select participant_key, session_date, day from intermediate.visits where is_attended
),

attended_summary as (
    select participant_key, count(*) as n_attended, max(session_date) as last_attended_on
    from attended
    group by participant_key
),

points as (
    -- the days (since enrollment) between which a gap is measured: enrollment, each attended day, the end of
    -- follow-up; each in its stretch of gap_days days (the participant's own program's gap rule)
    select participant_key, 0 as day, 0 as stretch from follow_up
    union all
    select a.participant_key, a.day, a.day // f.gap_days
    from attended as a
    join follow_up as f using (participant_key)
    union all
    select participant_key, follow_up_days, follow_up_days // gap_days from follow_up
),

stretches as (
    -- a gap of gap_days or more without a point can only run from the last point of one stretch to the first
    -- point of the next stretch that has one (within a stretch, points are closer than gap_days): so the first
    -- and last day of each stretch are the only candidates, and the window below sorts a few rows per stretch
    -- rather than every attended session
    select participant_key, stretch, min(day) as first_day, max(day) as last_day
    from points
    group by participant_key, stretch
),

gaps as (
    select
        participant_key,
        lag(last_day) over (partition by participant_key order by stretch) as gap_from_day,
        first_day as gap_to_day
    from stretches
),

first_gap as (
    select f.participant_key, f.enrolled_on + min(g.gap_from_day) as gap_on
    from gaps as g
    join follow_up as f using (participant_key)
    where g.gap_to_day - g.gap_from_day >= f.gap_days
    group by f.participant_key, f.enrolled_on
),

ends as (
    select
        f.*,
        a.n_attended,
        a.last_attended_on,
        g.gap_on,
        case
            when f.exit_reason = 'dropped_out' then least(f.exit_on, coalesce(g.gap_on, f.exit_on))
            when g.gap_on is not null then g.gap_on
            else f.follow_up_end_on
        end as end_on,
        case
            when f.exit_reason = 'dropped_out' or g.gap_on is not null then 'disengaged'
            when f.exit_reason = 'completed' then 'completed'
            else 'censored'
        end as retention_outcome
    from follow_up as f
    left join attended_summary as a using (participant_key)
    left join first_gap as g using (participant_key)
),

final as (
    select
        participant_key,
        program,
        site,
        program_track,
        enrolled_on,
        cohort_month,
        last_attended_on,
        end_on,
        (end_on - enrolled_on)::integer as retention_days,
        (retention_outcome = 'disengaged')::integer as is_disengaged,
        (retention_outcome = 'completed')::integer as is_completed,
        retention_outcome,
        case
            when retention_outcome <> 'censored' then null
            when exit_reason is not null then 'exit_' || exit_reason
            else 'as_of'
        end as censor_reason,
        exit_on,
        exit_reason,
        follow_up_end_on,
        follow_up_days,
        coalesce(n_attended, 0)::integer as n_attended
    from ends
)

select * from final
