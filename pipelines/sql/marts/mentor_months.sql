-- one row per mentor and month (first day) on or before as_of that mentor_activity reports or that holds an incident of the mentor; is_supervised when supervision_hours >= settings.supervision_hours (the policy); incidents counted in the month they occurred
-- A month with incidents but no activity row keeps its incidents (has_activity = 0, supervision unknown), so no incident is lost.
with

settings as (
    -- each program's own cutoff and supervision policy (main.programs), for its mentors
    select t.mentor_key, s.as_of, s.supervision_hours as policy_hours
    from main.mentors as t
    join main.programs as s using (program)
),

activity as (
    select a.mentor_key, a.month, a.supervision_hours, a.training_hours, a.active
    from main.mentor_activity as a
    join settings as s using (mentor_key)
    where a.month <= s.as_of
),

incidents as (
    select
        i.mentor_key,
        date_trunc('month', i.occurred_on)::date as month,
        count(*) as n_incidents,
        count(*) filter (where i.kind = 'boundary') as n_boundary,
        count(*) filter (where i.kind = 'confidentiality') as n_confidentiality,
        count(*) filter (where i.kind = 'safety') as n_safety,
        count(*) filter (where i.kind = 'conduct') as n_conduct,
        count(*) filter (where i.kind = 'other') as n_other,
        count(*) filter (where i.severity = 'high') as n_high_severity
    from main.incidents as i
    join settings as s using (mentor_key)
    where i.occurred_on <= s.as_of
    group by all
),

months as (
    select
        coalesce(a.mentor_key, i.mentor_key) as mentor_key,
        coalesce(a.month, i.month) as month,
        a.supervision_hours,
        a.training_hours,
        a.active,
        i.* exclude (mentor_key, month)
    from activity as a
    full join incidents as i on i.mentor_key = a.mentor_key and i.month = a.month
),

final as (
    select
        m.mentor_key,
        t.program,
        t.site,
        m.month,
        (m.active is not null)::integer as has_activity,
        m.active::integer as is_active,
        m.supervision_hours,
        m.training_hours,
        (m.supervision_hours >= s.policy_hours)::integer as is_supervised,
        coalesce(m.n_incidents, 0)::integer as n_incidents,
        coalesce(m.n_boundary, 0)::integer as n_boundary,
        coalesce(m.n_confidentiality, 0)::integer as n_confidentiality,
        coalesce(m.n_safety, 0)::integer as n_safety,
        coalesce(m.n_conduct, 0)::integer as n_conduct,
        coalesce(m.n_other, 0)::integer as n_other,
        coalesce(m.n_high_severity, 0)::integer as n_high_severity
    from months as m
    join main.mentors as t using (mentor_key)
    join settings as s using (mentor_key)
)

select * from final
