-- one row per lapse or relapse after the enrollment day and up to last contact (marts.retention end_on); recurrent events for count models
-- The follow-up window of substance use is defined here only: marts.relapse counts these rows.
with

follow_up as (
    select participant_key, enrolled_on, end_on as last_contact_on from marts.retention
),

events as (
    select u.participant_key, u.event_on, u.kind, u.substance, u.source, f.enrolled_on
    from main.substance_use as u
    join follow_up as f using (participant_key)
    where u.event_on > f.enrolled_on and u.event_on <= f.last_contact_on
),

final as (
    select
        participant_key,
        event_on,
        (event_on - enrolled_on)::integer as event_days,
        kind,
        row_number() over (partition by participant_key, kind order by event_on)::integer as event_number,
        substance,
        source
    from events
)

select * from final
