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

final as (
    select
        w.participant_key,
        w.week,
        w.start_days,
        w.stop_days,
        coalesce(c.n_check_ins, 0)::integer as n_check_ins,
        coalesce(c.n_reached, 0)::integer as n_reached,
        -- the previous row is the previous week: a spell's weeks run from 0 without a gap (marts.dose_weekly),
        -- and no check-in falls before week 0; one sort for both lags, no second join of the check-ins
        coalesce(lag(c.n_reached) over (partition by w.participant_key order by w.week), 0)::integer
            as n_reached_prev_week,
        w.n_attended,
        coalesce(lag(w.n_attended) over (partition by w.participant_key order by w.week), 0)::integer
            as n_attended_prev_week,
        w.is_relapse,
        w.is_disengaged
    from weeks as w
    left join per_week as c on c.participant_key = w.participant_key and c.week = w.week
)

select * from final
