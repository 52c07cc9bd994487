-- counting-process rows over the relapse spell, one per marts.dose_weekly row (participant-week (start_days, stop_days]) with its check-ins and reached check-ins (day d in the row with start < d <= stop, day 0 in week 0) and the previous week's
-- Check-ins before enrollment or after the end of follow-up are ignored (as sessions are: docs/outcomes.md#check_in_weekly).
with

check_ins as (
    -- each check-in inside follow-up, placed in the week whose interval holds its day (the dose_weekly rule)
    select
        c.participant_key,
        case when c.checked_in_on = f.enrolled_on then 0 else (c.checked_in_on - f.enrolled_on - 1) // 7 end as week,
        c.reached
    from main.check_ins as c
    join intermediate.follow_up as f using (participant_key)
    where c.checked_in_on between f.enrolled_on and f.follow_up_end_on
),

per_week as (
    select participant_key, week, count(*) as n_check_ins, count(*) filter (where reached) as n_reached
    from check_ins
    group by participant_key, week
),

weeks as (
    select participant_key, week, start_days, stop_days, n_attended, is_relapse, is_disengaged
    from marts.dose_weekly
),

weeks_with_check_ins as (
    select
        w.participant_key,
        w.week,
        w.start_days,
        w.stop_days,
        coalesce(c.n_check_ins, 0)::integer as n_check_ins,
        coalesce(c.n_reached, 0)::integer as n_reached,
        w.n_attended,
        w.is_relapse,
        w.is_disengaged
    from weeks as w
    left join per_week as c on c.participant_key = w.participant_key and c.week = w.week
),

final as (
    -- the previous week's row is the row of week - 1: a spell's weeks run from 0 without a gap
    -- (marts.dose_weekly), and no check-in falls before week 0; found by a hash join, not by sorting every
    -- participant-week for a window
    select
        w.participant_key,
        w.week,
        w.start_days,
        w.stop_days,
        w.n_check_ins,
        w.n_reached,
        coalesce(p.n_reached, 0)::integer as n_reached_prev_week,
        w.n_attended,
        coalesce(p.n_attended, 0)::integer as n_attended_prev_week,
        w.is_relapse,
        w.is_disengaged
    from weeks_with_check_ins as w
    left join weeks_with_check_ins as p on p.participant_key = w.participant_key and p.week = w.week - 1
)

select * from final
