"""marts.relapse_events: every lapse and relapse inside follow-up, numbered per kind (docs/outcomes.md)."""

from __future__ import annotations

from marts_world import World, d, rows


def test_recurrent_events_inside_follow_up_are_kept_and_numbered_per_kind(world: World) -> None:
    (
        world.person(1)
        .attend(1, *range(7, 71, 7))
        .use(1, -3)
        .use(1, 0)  # before / on the enrollment day: baseline
        .use(1, 5, "lapse")
        .use(1, 20)
        .use(1, 30, "lapse")
        .use(1, 40)
        .use(1, 75)  # day 75 after as_of
        .person(2)
        .attend(2, 5)
        .use(2, 5)
        .use(2, 50)  # contact lost at day 5: the day-50 relapse is unseen
    )
    con = world.build(as_of=70)
    assert rows(
        con,
        "relapse_events",
        "participant_key, event_on, event_days, kind, event_number",
        order="participant_key, event_on",
    ) == [
        (1, d(5), 5, "lapse", 1),
        (1, d(20), 20, "relapse", 1),
        (1, d(30), 30, "lapse", 2),
        (1, d(40), 40, "relapse", 2),
        (2, d(5), 5, "relapse", 1),
    ]


def test_relapse_events_agree_with_the_relapse_mart_counts(world: World) -> None:
    world.person(1).attend(1, *range(7, 71, 7)).use(1, 8).use(1, 9).use(1, 10, "lapse").person(2)
    con = world.build(as_of=70)
    assert con.execute(
        """select r.participant_key, r.n_relapses, r.n_lapses,
                  count(e.event_on) filter (where e.kind = 'relapse'), count(e.event_on) filter (where e.kind = 'lapse')
           from marts.relapse r left join marts.relapse_events e using (participant_key)
           group by all order by 1"""
    ).fetchall() == [(1, 2, 1, 2, 1), (2, 0, 0, 0, 0)]
