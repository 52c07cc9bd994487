-- one row per filter cell (program, site, program_track, cohort_month, with its cohort_quarter), measure, feature, level, value and is_event; n_people with them (a participant sits in one cell, so people add up over cells): enrolled, everyone in the cell; rematches, matched participants by rematches (level 0, 1, 2, 3+); days_to_match, matched participants by days to first match (value); retention and relapse, matched participants by match feature (feature mentor_certified, same_gender, same_substance, when known; level yes, no) and time (value: retention_days with is_event disengaged, relapse_days with is_event relapsed): what the Mentors & matching page counts, and the sufficient statistics of its Kaplan–Meier curves
with

people as (
    select
        program, site, program_track, cohort_month, cohort_quarter, is_matched, days_to_first_match, n_rematches,
        mentor_certified, same_gender, same_substance, retention_days, is_disengaged, relapse_days, is_relapse
    from marts.participant_outcomes
),

matched as (
    select * from people where is_matched = 1
),

features as (  -- one row per matched participant and match feature known for them
    select
        program, site, program_track, cohort_month, cohort_quarter, 'mentor_certified' as feature,
        case when mentor_certified <> 0 then 'yes' else 'no' end as level,
        retention_days, is_disengaged, relapse_days, is_relapse
    from matched
    where mentor_certified is not null
    union all
    select
        program, site, program_track, cohort_month, cohort_quarter, 'same_gender',
        case when same_gender <> 0 then 'yes' else 'no' end, retention_days, is_disengaged, relapse_days, is_relapse
    from matched
    where same_gender is not null
    union all
    select
        program, site, program_track, cohort_month, cohort_quarter, 'same_substance',
        case when same_substance <> 0 then 'yes' else 'no' end, retention_days, is_disengaged, relapse_days,
        is_relapse
    from matched
    where same_substance is not null
),

final as (
    select
        program, site, program_track, cohort_month, cohort_quarter, 'enrolled' as measure,
        cast(null as varchar) as feature, cast(null as varchar) as level, cast(null as integer) as value,
        cast(null as integer) as is_event, count(*) as n_people
    from people
    group by all
    union all
    select
        program, site, program_track, cohort_month, cohort_quarter, 'rematches', cast(null as varchar),
        case when coalesce(n_rematches, 0) >= 3 then '3+' else cast(coalesce(n_rematches, 0) as varchar) end,
        cast(null as integer), cast(null as integer), count(*)
    from matched
    group by all
    union all
    select
        program, site, program_track, cohort_month, cohort_quarter, 'days_to_match', cast(null as varchar),
        cast(null as varchar), days_to_first_match, cast(null as integer), count(*)
    from matched
    where days_to_first_match is not null
    group by all
    union all
    select
        program, site, program_track, cohort_month, cohort_quarter, 'retention', feature, level, retention_days,
        coalesce(is_disengaged, 0), count(*)
    from features
    group by all
    union all
    select
        program, site, program_track, cohort_month, cohort_quarter, 'relapse', feature, level, relapse_days,
        coalesce(is_relapse, 0), count(*)
    from features
    group by all
)

select * from final
