-- one row per participant enrolled by as_of; goals set in the first 30 days (days 0-29 after enrolled_on, marts.goals); observable when all 30 days are on or before as_of (as_of - enrolled_on >= 29)
with

people as (
    select participant_key, program, site, program_track, enrolled_on, cohort_month, as_of from intermediate.follow_up
),

counts as (
    select
        participant_key,
        count(*) as n_goals,
        count(*) filter (where is_first_30_days = 1) as n_goals_first_30_days,
        count(distinct domain) filter (where is_first_30_days = 1) as n_domains_first_30_days
    from marts.goals
    group by participant_key
),

final as (
    select
        p.participant_key,
        p.program,
        p.site,
        p.program_track,
        p.enrolled_on,
        p.cohort_month,
        (p.as_of - p.enrolled_on >= 29)::integer as is_observable_30_days,
        coalesce(c.n_goals_first_30_days, 0)::integer as n_goals_first_30_days,
        coalesce(c.n_domains_first_30_days, 0)::integer as n_domains_first_30_days,
        coalesce(c.n_goals, 0)::integer as n_goals
    from people as p
    left join counts as c using (participant_key)
)

select * from final
