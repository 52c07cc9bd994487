-- one row per participant enrolled by as_of; the wide analytic row: participant attributes, retention, relapse, match features, engagement summary and any covariates declared in the mapping
with

participants as (
    select
        participant_key, program, site, program_track, enrolled_on, age_at_enrollment, gender, race_ethnicity,
        primary_substance, referral_source, recovery_start_on, prior_treatment_episodes, housing_at_intake,
        employed_at_intake
    from main.participants
),

covariates as (
    -- columns the ETL appended for covariates declared in mapping.yaml (none by default)
    select * exclude (
        program, participant_pid, site, enrolled_on, program_track, age_at_enrollment, gender, race_ethnicity,
        primary_substance, referral_source, recovery_start_on, prior_treatment_episodes, housing_at_intake,
        employed_at_intake
    )
    from main.participants
),

retention as (
    select
        participant_key, cohort_month, retention_days, is_disengaged, is_completed, retention_outcome,
        follow_up_days, n_attended
    from marts.retention
),

attended as (
    -- attended sessions inside follow-up, with the day since enrollment
    select v.participant_key, v.format, v.day, r.follow_up_days
    from intermediate.visits as v
    join retention as r using (participant_key)
    where v.is_attended
),

format_counts as (
    -- one pass over the attended sessions, one row per participant: grouping on the participant alone (not
    -- also on the format text) halves the cost
    select
        participant_key,
        count(*) as n,
        count(*) filter (where day < least(90, follow_up_days)) as n_attended_90d,
        count(*) filter (where format = 'one_on_one') as n_one_on_one,
        count(*) filter (where format = 'group') as n_group,
        count(*) filter (where format = 'online') as n_online,
        count(*) filter (where format = 'workshop') as n_workshop
    from attended
    group by participant_key
),

formats as (
    select
        participant_key,
        n_attended_90d,
        n_one_on_one / n as share_one_on_one,
        -- the most attended format, ties to the first in contract order; 'other' (not an accepted value,
        -- so the marts check stops the load) if a format outside the contract ever got this far
        case greatest(n_one_on_one, n_group, n_online, n_workshop)
            when 0 then 'other'
            when n_one_on_one then 'one_on_one'
            when n_group then 'group'
            when n_online then 'online'
            when n_workshop then 'workshop'
        end as main_format
    from format_counts
),

meant_to_be_matched as (
    -- the tracks whose people are meant to have a mentor: those mapping.yaml lists (main.matched_tracks),
    -- else every track in which anyone was matched, so a usual-care track no one is ever matched in drops out
    -- (each program's own list and matches: one program's mapping never changes another's rows)
    select program, program_track as track from main.matched_tracks
    union
    select distinct p.program, coalesce(p.program_track, 'none') as track
    from participants as p
    join marts.match_features as m using (participant_key)
    where m.is_matched = 1 and not exists (select 1 from main.matched_tracks as t where t.program = p.program)
),

final as (
    select
        p.participant_key,
        p.program,
        p.site,
        p.program_track,
        p.enrolled_on,
        r.cohort_month,
        strftime(p.enrolled_on, '%Y') || '-Q' || quarter(p.enrolled_on) as cohort_quarter,
        p.age_at_enrollment,
        case
            when p.age_at_enrollment is null then 'unknown'
            when p.age_at_enrollment < 25 then '<25'
            when p.age_at_enrollment < 35 then '25-34'
            when p.age_at_enrollment < 45 then '35-44'
            when p.age_at_enrollment < 55 then '45-54'
            else '55+'
        end as age_group,
        p.gender,
        p.race_ethnicity,
        p.primary_substance,
        p.referral_source,
        p.housing_at_intake,
        p.employed_at_intake,
        p.prior_treatment_episodes,
        p.recovery_start_on,
        r.retention_days,
        r.is_disengaged,
        r.is_completed,
        r.retention_outcome,
        l.relapse_days,
        l.is_relapse,
        l.n_relapses,
        l.n_lapses,
        m.is_matched,
        t.track is not null as is_meant_to_be_matched,
        m.days_to_first_match,
        m.mentor_certified,
        m.mentor_years_recovery,
        m.same_gender,
        m.same_substance,
        m.n_rematches,
        r.follow_up_days,
        case
            when least(90, r.follow_up_days) > 0
                then coalesce(f.n_attended_90d, 0) / (least(90, r.follow_up_days) / 7.0)
        end as sessions_per_week_90d,
        f.share_one_on_one,
        coalesce(f.main_format, 'none') as main_format,
        r.n_attended,
        c.* exclude (participant_key)
    from participants as p
    join retention as r using (participant_key)
    join marts.relapse as l using (participant_key)
    join marts.match_features as m using (participant_key)
    left join formats as f using (participant_key)
    join covariates as c using (participant_key)
    left join meant_to_be_matched as t on t.program = p.program and t.track = coalesce(p.program_track, 'none')
)

select * from final
