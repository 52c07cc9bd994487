-- one row per participant enrolled by as_of; the wide analytic row: participant attributes, retention, relapse, match features, engagement summary and any covariates declared in the mapping
with

participants as (
    select
        participant_key, site, program_track, enrolled_on, age_at_enrollment, gender, race_ethnicity,
        primary_substance, referral_source, recovery_start_on, prior_treatment_episodes, housing_at_intake,
        employed_at_intake
    from main.participants
),

covariates as (
    -- columns the ETL appended for covariates declared in mapping.yaml (none by default)
    select * exclude (
        participant_pid, site, enrolled_on, program_track, age_at_enrollment, gender, race_ethnicity,
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
    -- one pass over the sessions: per participant and format, then summed per participant below
    select
        participant_key,
        format,
        count(*) as n,
        count(*) filter (where day < least(90, follow_up_days)) as n_90d
    from attended
    group by participant_key, format
),

formats as (
    select
        participant_key,
        sum(n_90d)::bigint as n_attended_90d,
        sum(case when format = 'one_on_one' then n else 0 end)::bigint / sum(n)::bigint as share_one_on_one
    from format_counts
    group by participant_key
),

main_format as (
    select participant_key, format as main_format
    from format_counts
    qualify row_number() over (
        partition by participant_key
        order by n desc, list_position(['one_on_one', 'group', 'online', 'workshop'], format)
    ) = 1
),

final as (
    select
        p.participant_key,
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
        coalesce(mf.main_format, 'none') as main_format,
        r.n_attended,
        c.* exclude (participant_key)
    from participants as p
    join retention as r using (participant_key)
    join marts.relapse as l using (participant_key)
    join marts.match_features as m using (participant_key)
    left join formats as f using (participant_key)
    left join main_format as mf using (participant_key)
    join covariates as c using (participant_key)
)

select * from final
