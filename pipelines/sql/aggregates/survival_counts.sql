-- one row per outcome (retention: event disengaged; relapse: event first relapse), the program and the published Cox model's groups (site, program_track, age_group, gender, primary_substance, housing_at_intake), time_days and is_event; n_people with them: the sufficient statistics of Kaplan–Meier, log-rank and Cox models over these groups
with

people as (
    select
        program, site, program_track, age_group, gender, primary_substance, housing_at_intake,
        retention_days, is_disengaged, relapse_days, is_relapse
    from marts.participant_outcomes
),

final as (
    select
        'retention' as outcome, program, site, program_track, age_group, gender, primary_substance, housing_at_intake,
        retention_days as time_days, is_disengaged as is_event, count(*) as n_people
    from people
    group by all
    union all
    select
        'relapse', program, site, program_track, age_group, gender, primary_substance, housing_at_intake,
        relapse_days, is_relapse, count(*)
    from people
    group by all
)

select * from final
