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
    select s.*, unnest(range(0, (s.relapse_days + 6) // 7)) as week
    from spells as s
),

rows_ as (
    select
        participant_key,
        week::integer as week,
        (7 * week)::integer as start_days,
        least(7 * week + 7, relapse_days)::integer as stop_days,
        relapse_days,
        is_relapse,
        ends_disengaged
    from weeks
),

session_days as (
    -- attended sessions and no-shows inside the spell (which ends within follow-up: intermediate.visits), placed
    -- in the week whose interval holds the day
    select
        v.participant_key,
        case when v.day = 0 then 0 else (v.day - 1) // 7 end as week,
        v.status,
        v.format
    from intermediate.visits as v
    join spells as p using (participant_key)
    where v.day <= p.relapse_days
),

dose as (
    select
        participant_key,
        week,
        count(*) filter (where status = 'attended') as n_attended,
        count(*) filter (where status = 'attended' and format = 'one_on_one') as n_one_on_one,
        count(*) filter (where status = 'attended' and format = 'group') as n_group,
        count(*) filter (where status = 'attended' and format = 'online') as n_online,
        count(*) filter (where status = 'attended' and format = 'workshop') as n_workshop,
        count(*) filter (where status = 'no_show') as n_no_show
    from session_days
    group by participant_key, week
),

final as (
    select
        r.participant_key,
        r.week,
        r.start_days,
        r.stop_days,
        coalesce(d.n_attended, 0)::integer as n_attended,
        coalesce(d.n_one_on_one, 0)::integer as n_one_on_one,
        coalesce(d.n_group, 0)::integer as n_group,
        coalesce(d.n_online, 0)::integer as n_online,
        coalesce(d.n_workshop, 0)::integer as n_workshop,
        coalesce(d.n_no_show, 0)::integer as n_no_show,
        (r.is_relapse = 1 and r.stop_days = r.relapse_days)::integer as is_relapse,
        (r.ends_disengaged = 1 and r.stop_days = r.relapse_days)::integer as is_disengaged
    from rows_ as r
    left join dose as d using (participant_key, week)
)

select * from final
