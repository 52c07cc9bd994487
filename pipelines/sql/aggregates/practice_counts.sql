-- one row per filter cell (program, site, program_track, cohort_month), Mentoring practice result and item: n_items counted, n_hits among them and n_people (participants with an item; a participant sits in one cell, so people add up over cells). goals: per domain, goals set at least 180 days before the program's cutoff (n_items) and met within 180 days (n_hits); goal_setting: participants followed their whole first 30 days and those who set a goal in them; referrals: per resource type, and treatment_referrals for all treatment types, referrals observable for 30 days and connected within 30; regularity: weeks since the first match (n_weeks > 0) and those with a reached check-in; pathway: completers at least 365 days before the cutoff and those mentoring within 365 days
with

people as (
    select p.participant_key, p.program, p.site, p.program_track, p.cohort_month, c.as_of
    from marts.participant_outcomes as p
    join main.programs as c using (program)
),

goals as (  -- per participant first, then per cell: a participant sits in one cell, so people add up (and the
            -- sums spill to disk where a count(distinct) could not: tests/unit/test_etl_memory.py)
    select program, site, program_track, cohort_month, 'goals' as result, item, sum(n_items) as n_items,
           sum(n_hits) as n_hits, count(*) as n_people
    from (
        select
            p.program, p.site, p.program_track, p.cohort_month, g.domain as item, g.participant_key,
            count(*) as n_items, count(*) filter (where g.is_met = 1 and g.time_days <= 180) as n_hits
        from marts.goals as g
        join people as p using (participant_key)
        where g.set_on <= p.as_of - 180
        group by all
    )
    group by all
),

goal_setting as (
    select
        p.program, p.site, p.program_track, p.cohort_month, 'goal_setting' as result, 'all' as item,
        count(*) as n_items, count(*) filter (where g.n_goals_first_30_days > 0) as n_hits, count(*) as n_people
    from marts.goal_setting as g
    join people as p using (participant_key)
    where g.is_observable_30_days = 1
    group by all
),

referral_people as (  -- per participant and resource type, as for goals
    select
        p.program, p.site, p.program_track, p.cohort_month, r.resource_type as item, r.participant_key,
        count(*) as n_items, count(*) filter (where r.is_connected_30_days = 1) as n_hits,
        count(*) filter (where r.is_treatment = 1) as n_treatment,
        count(*) filter (where r.is_treatment = 1 and r.is_connected_30_days = 1) as n_treatment_hits
    from marts.referrals as r
    join people as p using (participant_key)
    where r.is_observable_30_days = 1
    group by all
),

referrals as (
    select program, site, program_track, cohort_month, 'referrals' as result, item, sum(n_items) as n_items,
           sum(n_hits) as n_hits, count(*) as n_people
    from referral_people
    group by all
),

treatment_referrals as (
    select program, site, program_track, cohort_month, 'treatment_referrals' as result, 'all treatment' as item,
           sum(n_items) as n_items, sum(n_hits) as n_hits, count(*) as n_people
    from (
        select program, site, program_track, cohort_month, participant_key, sum(n_treatment) as n_items,
               sum(n_treatment_hits) as n_hits
        from referral_people
        where n_treatment > 0
        group by all
    )
    group by all
),

regularity as (
    select
        p.program, p.site, p.program_track, p.cohort_month, 'regularity' as result, 'all' as item,
        sum(r.n_weeks) as n_items, sum(r.n_weeks_reached) as n_hits, count(*) as n_people
    from marts.check_in_regularity as r
    join people as p using (participant_key)
    where r.n_weeks > 0
    group by all
),

pathway as (
    select
        p.program, p.site, p.program_track, p.cohort_month, 'pathway' as result, 'all' as item, count(*) as n_items,
        count(*) filter (where w.is_mentor = 1 and w.time_days <= 365) as n_hits, count(*) as n_people
    from marts.pathway as w
    join people as p using (participant_key)
    where w.completed_on <= p.as_of - 365
    group by all
),

final as (
    select * from goals
    union all select * from goal_setting
    union all select * from referrals
    union all select * from treatment_referrals
    union all select * from regularity
    union all select * from pathway
)

select * from final
