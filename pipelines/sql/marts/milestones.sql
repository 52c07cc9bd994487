-- one row per participant enrolled by as_of and milestone in its program's milestone_days (main.programs; config.MILESTONE_DAYS); origin recovery_start_on, else enrolled_on; achieved when the milestones table has it on or after origin and by as_of; observable when origin + milestone_days <= as_of
with

settings as (
    -- each program's own cutoff and milestones (main.programs)
    select program, as_of, milestone_days from main.programs
),

people as (
    -- everyone followed (intermediate.follow_up: enrolled by as_of)
    select
        f.participant_key, f.program, f.site, f.program_track, f.enrolled_on, f.as_of,
        coalesce(p.recovery_start_on, f.enrolled_on) as origin_on,
        (p.recovery_start_on is not null)::integer as is_recovery_origin
    from intermediate.follow_up as f
    join main.participants as p using (participant_key)
),

grid as (
    select p.*, m.milestone_days
    from people as p
    join (select program, unnest(milestone_days) as milestone_days from settings) as m using (program)
),

achieved as (
    select m.participant_key, m.milestone_days, min(m.achieved_on) as achieved_on
    from main.milestones as m
    join people as p using (participant_key)
    where m.achieved_on between p.origin_on and p.as_of
    group by m.participant_key, m.milestone_days
),

final as (
    select
        g.participant_key,
        g.program,
        g.site,
        g.program_track,
        g.enrolled_on,
        g.origin_on,
        g.is_recovery_origin,
        g.milestone_days,
        a.achieved_on,
        (a.achieved_on - g.origin_on)::integer as days_to_achieve,
        (a.achieved_on is not null)::integer as is_achieved,
        (g.origin_on + g.milestone_days <= g.as_of)::integer as is_observable,
        (g.origin_on + g.milestone_days < g.enrolled_on)::integer as is_before_enrollment
    from grid as g
    left join achieved as a using (participant_key, milestone_days)
)

select * from final
