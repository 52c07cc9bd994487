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
    -- one row per attended session inside follow-up
    select participant_key, session_date from intermediate.visits where is_attended
),

attended_summary as (
    select participant_key, count(*) as n_attended, max(session_date) as last_attended_on
    from attended
    group by participant_key
),

points as (
    -- the dates between which a gap is measured: enrollment, each attended day, the end of follow-up
    -- (two sessions on one day make a gap of 0 days, which never counts: no need for a costly distinct)
    select participant_key, enrolled_on as point_on, 0 as is_end from follow_up
    union all
    select participant_key, session_date, 0 from attended
    union all
    select participant_key, follow_up_end_on, 1 from follow_up
),

gaps as (
    select
        participant_key,
        lag(point_on) over (partition by participant_key order by point_on, is_end) as gap_from_on,
        point_on as gap_to_on
    from points
),

first_gap as (
    -- the gap rule of the participant's own program (intermediate.follow_up gap_days)
    select g.participant_key, min(g.gap_from_on) as gap_on
    from gaps as g
    join follow_up as f using (participant_key)
    where g.gap_to_on - g.gap_from_on >= f.gap_days
    group by g.participant_key
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
