-- one row per participant enrolled by as_of; origin enrolled_on; event first relapse (kind relapse) after the enrollment day; censored at last contact = the earliest of exit, disengagement and as_of (marts.retention end_on); lapses counted separately
-- Events before or on the enrollment day are baseline, events after last contact unseen (docs/outcomes.md#relapse).
with

spells as (
    select
        participant_key, program, site, program_track, enrolled_on,
        end_on as last_contact_on,
        retention_outcome,
        censor_reason as retention_censor_reason
    from marts.retention
),

event_summary as (
    -- lapses and relapses inside follow-up (after the enrollment day, up to last contact): marts.relapse_events
    select
        participant_key,
        min(event_on) filter (where kind = 'relapse') as first_relapse_on,
        count(*) filter (where kind = 'relapse') as n_relapses,
        min(event_on) filter (where kind = 'lapse') as first_lapse_on,
        count(*) filter (where kind = 'lapse') as n_lapses
    from marts.relapse_events
    group by participant_key
),

final as (
    select
        s.participant_key,
        s.program,
        s.site,
        s.program_track,
        s.enrolled_on,
        (coalesce(e.first_relapse_on, s.last_contact_on) - s.enrolled_on)::integer as relapse_days,
        (e.first_relapse_on is not null)::integer as is_relapse,
        case
            when e.first_relapse_on is not null then null
            when s.retention_outcome = 'disengaged' then 'disengaged'
            when s.retention_outcome = 'completed' then 'exit_completed'
            else s.retention_censor_reason
        end as censor_reason,
        coalesce(e.first_relapse_on, s.last_contact_on) as end_on,
        s.last_contact_on,
        coalesce(e.n_relapses, 0)::integer as n_relapses,
        coalesce(e.n_lapses, 0)::integer as n_lapses,
        (e.first_lapse_on - s.enrolled_on)::integer as first_lapse_days
    from spells as s
    left join event_summary as e using (participant_key)
)

select * from final
