-- one row per participant enrolled by as_of; matches up to the end of follow-up (intermediate.follow_up: exit or as_of); the first match (earliest matched_on) defines the mentor; a match before enrollment counts as matched on day 0
with

follow_up as (
    select participant_key, enrolled_on, follow_up_end_on from intermediate.follow_up
),

participants as (
    select p.participant_key, p.gender, p.primary_substance
    from main.participants as p
    join follow_up using (participant_key)
),

matches as (
    select m.participant_key, m.mentor_key, m.matched_on, f.enrolled_on
    from main.matches as m
    join follow_up as f using (participant_key)
    where m.matched_on <= f.follow_up_end_on
),

ranked as (
    select
        *,
        row_number() over (partition by participant_key order by matched_on, mentor_key) as match_number,
        count(*) over (partition by participant_key) as n_matches
    from matches
),

first_match as (
    select * from ranked where match_number = 1
),

final as (
    select
        f.participant_key,
        (m.participant_key is not null)::integer as is_matched,
        m.matched_on as first_matched_on,
        case when m.participant_key is not null then greatest(m.matched_on - f.enrolled_on, 0) end::integer
            as days_to_first_match,
        coalesce(m.n_matches, 0)::integer as n_matches,
        greatest(coalesce(m.n_matches, 0) - 1, 0)::integer as n_rematches,
        m.mentor_key,
        case
            when m.participant_key is null then null
            else coalesce(t.certified_on <= m.matched_on, false)::integer
        end as mentor_certified,
        (m.matched_on - t.recovery_start_on) / 365.25 as mentor_years_recovery,
        case
            when p.gender in ('female', 'male', 'nonbinary') and t.gender in ('female', 'male', 'nonbinary')
                then (p.gender = t.gender)::integer
        end as same_gender,
        case
            when p.primary_substance not in ('unknown', 'other') and t.primary_substance not in ('unknown', 'other')
                then (p.primary_substance = t.primary_substance)::integer
        end as same_substance
    from follow_up as f
    left join first_match as m using (participant_key)
    left join participants as p using (participant_key)
    left join main.mentors as t on t.mentor_key = m.mentor_key
)

select * from final
