-- one row per participant whose exit (completed) falls in follow-up; origin exit_on; event becoming a mentor (the earliest mentors row whose former_participant_pid is theirs, started_on by as_of; 0 days when it started before completion); censored at as_of
-- No competing event: a relapse or another program does not stop a graduate becoming a mentor later (docs/outcomes.md#pathway).
with

settings as (
    -- each program's own cutoff (main.programs)
    select program, as_of from main.programs
),

completers as (
    select f.participant_key, f.program, f.site, f.program_track, f.enrolled_on, f.exit_on as completed_on,
        p.participant_pid, f.as_of
    from intermediate.follow_up as f
    join main.participants as p using (participant_key)
    where f.exit_reason = 'completed'
),

became as (
    -- a mentor of the same program: pseudonyms are keyed per program, so another program's never match
    select m.program, m.former_participant_pid as participant_pid, min(m.started_on) as mentor_started_on
    from main.mentors as m
    join settings as s using (program)
    where m.former_participant_pid is not null and m.started_on <= s.as_of
    group by all
),

final as (
    select
        c.participant_key,
        c.program,
        c.site,
        c.program_track,
        c.enrolled_on,
        c.completed_on,
        b.mentor_started_on,
        (b.mentor_started_on is not null)::integer as is_mentor,
        greatest(coalesce(b.mentor_started_on, c.as_of) - c.completed_on, 0)::integer as time_days
    from completers as c
    left join became as b using (program, participant_pid)
)

select * from final
