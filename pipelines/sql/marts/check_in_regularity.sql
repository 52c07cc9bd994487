-- one row per participant enrolled by as_of; the weeks of the retention spell (enrolled_on to marts.retention end_on, numbered as in dose_weekly) from the week of the first match on, and how many held a reached check-in; no weeks when never matched in the spell
with

spells as (
    select r.participant_key, r.program, r.site, r.program_track, r.cohort_month, r.retention_days,
        (r.retention_days + 6) // 7 as n_spell_weeks,
        m.is_matched, m.days_to_first_match
    from marts.retention as r
    join marts.match_features as m using (participant_key)
),

first_weeks as (
    -- the week holding the first match (day 0, or a match before enrollment, is week 0); null when not matched
    -- within the spell
    select
        *,
        case
            when is_matched = 1 and days_to_first_match <= retention_days
                then case when days_to_first_match = 0 then 0 else (days_to_first_match - 1) // 7 end
        end as first_week
    from spells
),

check_ins as (
    -- check-ins inside the retention spell, with their week (the dose_weekly rule: day 0 in week 0)
    select
        c.participant_key,
        case when c.checked_in_on = s.enrolled_on then 0 else (c.checked_in_on - s.enrolled_on - 1) // 7 end as week,
        c.reached
    from main.check_ins as c
    join marts.retention as s using (participant_key)
    where c.checked_in_on between s.enrolled_on and s.end_on
),

counts as (
    select
        c.participant_key,
        count(*) as n_check_ins,
        count(*) filter (where c.reached) as n_reached,
        count(distinct c.week) filter (where c.reached) as n_weeks_reached
    from check_ins as c
    join first_weeks as f using (participant_key)
    where c.week >= f.first_week and c.week < f.n_spell_weeks  -- a 0-day spell has no week, as in dose_weekly
    group by c.participant_key
),

final as (
    select
        f.participant_key,
        f.program,
        f.site,
        f.program_track,
        f.cohort_month,
        (f.first_week is not null)::integer as is_matched_in_spell,
        f.first_week::integer as first_match_week,
        coalesce(greatest(f.n_spell_weeks - f.first_week, 0), 0)::integer as n_weeks,
        coalesce(c.n_weeks_reached, 0)::integer as n_weeks_reached,
        coalesce(c.n_check_ins, 0)::integer as n_check_ins,
        coalesce(c.n_reached, 0)::integer as n_reached,
        case
            when f.n_spell_weeks - f.first_week > 0
                then coalesce(c.n_weeks_reached, 0) / (f.n_spell_weeks - f.first_week)
        end as share_weeks_reached
    from first_weeks as f
    left join counts as c using (participant_key)
)

select * from final
