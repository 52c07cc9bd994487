-- one row per program, site, program_track, time_days and event_code of marts.competing (0 censored, 1 relapse, 2 dropout, 3 completion); n_people with them: the sufficient statistics of Aalen–Johansen cumulative incidence by program, site and track
with

final as (
    select program, site, program_track, time_days, event_code, count(*) as n_people
    from marts.competing
    group by all
)

select * from final
