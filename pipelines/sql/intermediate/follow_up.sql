-- one row per participant enrolled by their program's as_of (main.programs); follow-up runs from enrolled_on to the exit (if on or after enrollment and not after as_of) or as_of
-- The follow-up window is defined here only: every mart that follows people over time starts from it.
with

settings as (
    -- each program's own cutoff and disengagement gap: loading one program never moves another's follow-up
    select program, as_of, gap_days from main.programs
),

people as (
    select p.participant_key, p.program, p.site, p.program_track, p.enrolled_on, s.as_of, s.gap_days
    from main.participants as p
    join settings as s using (program)
    where p.enrolled_on <= s.as_of
),

exit_in_follow_up as (
    -- the program's exit, when it falls inside [enrolled_on, as_of]; one exit per participant by contract
    select e.participant_key, e.exit_on, e.reason
    from main.exits as e
    join people as p using (participant_key)
    where e.exit_on between p.enrolled_on and p.as_of
    qualify row_number() over (partition by e.participant_key order by e.exit_on, e.reason) = 1
),

final as (
    select
        p.participant_key,
        p.program,
        p.site,
        p.program_track,
        p.enrolled_on,
        date_trunc('month', p.enrolled_on)::date as cohort_month,
        x.exit_on,
        x.reason as exit_reason,
        coalesce(x.exit_on, p.as_of) as follow_up_end_on,
        (coalesce(x.exit_on, p.as_of) - p.enrolled_on)::integer as follow_up_days,
        p.as_of,
        p.gap_days
    from people as p
    left join exit_in_follow_up as x using (participant_key)
)

select * from final
