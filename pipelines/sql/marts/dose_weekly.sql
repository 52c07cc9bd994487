-- counting-process rows over the relapse spell (marts.relapse): one per participant-week, (start_days, stop_days] = (7w, min(7w + 7, relapse_days)]; sessions on day d count in the row with start < d <= stop (day 0 in week 0); a spell of 0 days has no rows
with

spells as (
    select
        r.participant_key,
        r.relapse_days,
        r.is_relapse,
        (r.is_relapse = 0 and r.censor_reason = 'disengaged')::integer as ends_disengaged
    from marts.relapse as r
    where r.relapse_days > 0
),

weeks as (
    -- every week of every spell, with no session: a week without sessions still gets its row (of zeros)
    select participant_key, unnest(range(0, (relapse_days + 6) // 7)) as week, null as is_attended, null as format
    from spells
),

session_weeks as (
    -- attended sessions and no-shows inside the spell (which ends within follow-up: intermediate.visits), placed
    -- in the week whose interval holds the day
    select
        v.participant_key,
        case when v.day = 0 then 0 else (v.day - 1) // 7 end as week,
        v.is_attended,
        v.format
    from intermediate.visits as v
    join spells as p using (participant_key)
    where v.day <= p.relapse_days
),

dose as (
    -- one aggregate over weeks and sessions together: no join of millions of weeks to their sessions
    select
        participant_key,
        week,
        count(*) filter (where is_attended) as n_attended,
        count(*) filter (where is_attended and format = 'one_on_one') as n_one_on_one,
        count(*) filter (where is_attended and format = 'group') as n_group,
        count(*) filter (where is_attended and format = 'online') as n_online,
        count(*) filter (where is_attended and format = 'workshop') as n_workshop,
        count(*) filter (where not is_attended) as n_no_show
    from (select * from weeks union all select * from session_weeks)
    group by participant_key, week
),

rows_ as (
    select
        d.*,
        least(7 * d.week + 7, s.relapse_days) as stop_days,
        s.relapse_days,
        s.is_relapse,
        s.ends_disengaged
    from dose as d
    join spells as s using (participant_key)
),

final as (
    select
        participant_key,
        week::integer as week,
        (7 * week)::integer as start_days,
        stop_days::integer as stop_days,
        n_attended::integer as n_attended,
        n_one_on_one::integer as n_one_on_one,
        n_group::integer as n_group,
        n_online::integer as n_online,
        n_workshop::integer as n_workshop,
        n_no_show::integer as n_no_show,
        (is_relapse = 1 and stop_days = relapse_days)::integer as is_relapse,
        (ends_disengaged = 1 and stop_days = relapse_days)::integer as is_disengaged
    from rows_
)

select * from final
