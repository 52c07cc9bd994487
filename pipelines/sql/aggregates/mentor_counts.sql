-- one row per program and group of its active mentor-months (marts.mentor_months, is_active = 1): by calendar quarter (measure quarter, level e.g. 2025-Q3), by whether the month met the supervision policy (supervised: true, false) and by the mentor's site (site); mentor_months, n_supervised (months that met the policy), n_incidents, n_mentors (mentors with such a month); and (measure graduates, level all) n_mentors, those who started by the program's cutoff, with n_graduates, those who were once its participants: the Mentoring practice page's all-mentor figures; a mentor belongs to one program, so mentors add up over programs
with

months as (
    select program, mentor_key, site, is_supervised, n_incidents,
           strftime(month, '%Y') || '-Q' || cast(quarter(month) as varchar) as quarter
    from marts.mentor_months
    where is_active = 1
),

per_mentor as (  -- per mentor first, then per group: sums spill to disk where a count(distinct) could not
    select
        program, 'quarter' as measure, quarter as level, mentor_key, count(*) as mentor_months,
        count(*) filter (where is_supervised = 1) as n_supervised, sum(n_incidents) as n_incidents
    from months
    group by all
    union all
    select
        program, 'supervised', cast(is_supervised = 1 as varchar), mentor_key, count(*),
        count(*) filter (where is_supervised = 1), sum(n_incidents)
    from months
    group by all
    union all
    select
        program, 'site', site, mentor_key, count(*), count(*) filter (where is_supervised = 1), sum(n_incidents)
    from months
    group by all
),

graduates as (
    select
        x.program, 'graduates' as measure, 'all' as level, cast(0 as bigint) as mentor_months,
        cast(0 as bigint) as n_supervised, cast(0 as bigint) as n_incidents, count(*) as n_mentors,
        count(p.participant_pid) as n_graduates
    from main.mentors as x
    join main.programs as c on c.program = x.program
    left join main.participants as p on p.program = x.program and p.participant_pid = x.former_participant_pid
    where x.started_on <= c.as_of
    group by x.program
),

final as (
    select
        program, measure, level, cast(sum(mentor_months) as bigint) as mentor_months,
        cast(sum(n_supervised) as bigint) as n_supervised, cast(sum(n_incidents) as bigint) as n_incidents,
        count(*) as n_mentors, cast(null as bigint) as n_graduates
    from per_mentor
    group by all
    union all
    select * from graduates
)

select * from final
