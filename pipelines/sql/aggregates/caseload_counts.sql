-- one row per filter cell (program, site, program_track, cohort_month) and mentor (mentor_key) matched with any of the cell's participants: n_matched, those participants, and n_active, those whose match with the mentor is open at their program's cutoff (not ended, or ended after it); a participant sits in one cell, so a mentor's caseload in any union of cells is a sum over them
with

pairs as (  -- per mentor and participant first (a participant may have several matches with one mentor), then
            -- per cell: sums spill to disk where a count(distinct) could not (tests/unit/test_etl_memory.py)
    select
        m.mentor_key,
        m.participant_key,
        max(case when m.ended_on is null or m.ended_on > c.as_of then 1 else 0 end) as is_open
    from main.matches as m
    join marts.participant_outcomes as p using (participant_key)
    join main.programs as c on c.program = p.program
    group by m.mentor_key, m.participant_key
),

final as (
    select
        p.program, p.site, p.program_track, p.cohort_month, a.mentor_key, cast(count(*) as integer) as n_matched,
        cast(sum(a.is_open) as integer) as n_active
    from pairs as a
    join marts.participant_outcomes as p using (participant_key)
    group by all
)

select * from final
order by mentor_key  -- a mentor's rows together: a page sums them per mentor 3x faster at 10M (0.3 s, not 0.9 s)
