-- one row per participant enrolled by as_of; origin enrolled_on; first of relapse (1), dropout = disengaged (2), completion (3); 0 censored at other exits and as_of; a relapse on the day of the other event wins
with

retention as (
    select participant_key, program, site, program_track, enrolled_on, retention_days, retention_outcome
    from marts.retention
),

relapse as (
    select participant_key, relapse_days, is_relapse from marts.relapse
),

final as (
    select
        t.participant_key,
        t.program,
        t.site,
        t.program_track,
        t.enrolled_on,
        case when r.is_relapse = 1 then r.relapse_days else t.retention_days end as time_days,
        case
            when r.is_relapse = 1 then 1
            when t.retention_outcome = 'disengaged' then 2
            when t.retention_outcome = 'completed' then 3
            else 0
        end as event_code,
        case
            when r.is_relapse = 1 then 'relapse'
            when t.retention_outcome = 'disengaged' then 'dropout'
            when t.retention_outcome = 'completed' then 'completion'
            else 'censored'
        end as event_name
    from retention as t
    join relapse as r using (participant_key)
)

select * from final
