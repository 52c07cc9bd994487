-- one row per referral made on or after enrollment and by as_of, of a participant enrolled by as_of; origin made_on; event connected at connected_on (when on or before as_of); censored at as_of otherwise (declined, pending, unknown); a connection without a date has no time
-- Treatment referrals are resource types treatment, mat and detox (docs/outcomes.md#referrals).
with

referrals as (
    select r.* exclude (program), f.program, f.site, f.program_track, f.enrolled_on, f.as_of
    from main.referrals as r
    join intermediate.follow_up as f using (participant_key)
    where r.made_on between f.enrolled_on and f.as_of
),

linked as (
    select
        *,
        outcome = 'connected' and (connected_on is null or connected_on <= as_of) as is_connected_,
        outcome = 'connected' and connected_on <= as_of as is_dated_
    from referrals
),

final as (
    select
        referral_id,
        participant_key,
        mentor_key,
        program,
        site,
        program_track,
        enrolled_on,
        made_on,
        (made_on - enrolled_on)::integer as made_days,
        resource_type,
        (resource_type in ('treatment', 'mat', 'detox'))::integer as is_treatment,
        outcome,
        connected_on,
        is_connected_::integer as is_connected,
        case
            when is_dated_ then connected_on - made_on
            when not is_connected_ then as_of - made_on
        end::integer as time_days,
        (as_of - made_on >= 30)::integer as is_observable_30_days,
        case
            when is_dated_ then (connected_on - made_on <= 30)::integer
            when not is_connected_ then 0
        end as is_connected_30_days
    from linked
)

select * from final
