-- one row per goal set on or after enrollment and by as_of, of a participant enrolled by as_of; origin set_on; event met (1) or abandoned (2) at status_on when on or before as_of; open and revised goals (and a later status) censored (0) at as_of
-- A goal stays open until its status says otherwise, after an exit too: programs keep a goal's status (docs/outcomes.md#goals).
with

people as (
    select participant_key, program, site, program_track, enrolled_on, as_of from intermediate.follow_up
),

goals as (
    select g.goal_id, g.participant_key, g.mentor_key, g.domain, g.set_on, g.target_on, g.status, g.status_on,
        p.program, p.site, p.program_track, p.enrolled_on, p.as_of
    from main.goals as g
    join people as p using (participant_key)
    where g.set_on between p.enrolled_on and p.as_of
),

ended as (
    select
        g.*,
        g.status in ('met', 'abandoned') and g.status_on <= g.as_of as is_ended
    from goals as g
),

final as (
    select
        goal_id,
        participant_key,
        mentor_key,
        program,
        site,
        program_track,
        enrolled_on,
        domain,
        set_on,
        (set_on - enrolled_on)::integer as set_days,
        (set_on - enrolled_on < 30)::integer as is_first_30_days,
        target_on,
        status,
        status_on,
        ((case when is_ended then status_on else as_of end) - set_on)::integer as time_days,
        case when not is_ended then 0 when status = 'met' then 1 else 2 end as event_code,
        case when not is_ended then 'censored' else status end as event_name,
        (is_ended and status = 'met')::integer as is_met
    from ended
)

select * from final
