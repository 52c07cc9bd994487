"""marts.relapse: first relapse after the enrollment day, censored at last contact (docs/outcomes.md#relapse)."""

from __future__ import annotations

import pytest
from marts_world import World, by_key, random_people

COLS = "relapse_days, is_relapse, censor_reason, n_relapses, n_lapses, first_lapse_days"


def attends_weekly(world: World, key: int, until: int) -> World:
    return world.attend(key, *range(7, until + 1, 7))


def test_first_relapse_is_the_event_and_lapses_are_counted_apart(world: World) -> None:
    attends_weekly(world.person(1), 1, 70).use(1, 5, "lapse").use(1, 12, "lapse").use(1, 20).use(1, 40)
    con = world.build(as_of=70)
    assert by_key(con, "relapse", COLS) == {1: (20, 1, None, 2, 2, 5)}


def test_lapses_alone_are_not_a_relapse(world: World) -> None:
    attends_weekly(world.person(1), 1, 70).use(1, 15, "lapse")
    con = world.build(as_of=70)
    assert by_key(con, "relapse", COLS) == {1: (70, 0, "as_of", 0, 1, 15)}


def test_events_before_or_on_the_enrollment_day_are_baseline(world: World) -> None:
    attends_weekly(world.person(1, enrolled=10), 1, 80).use(1, 3).use(1, 10).use(1, 10, "lapse")
    con = world.build(as_of=80)
    assert by_key(con, "relapse", COLS) == {1: (70, 0, "as_of", 0, 0, None)}


def test_relapse_is_censored_at_disengagement(world: World) -> None:
    # last attended day 5, no session for 95 days: contact lost at day 5; the later relapse is unseen
    world.person(1).attend(1, 5).use(1, 60).use(1, 4, "lapse")
    con = world.build(as_of=100)
    assert by_key(con, "relapse", COLS + ", last_contact_on - enrolled_on") == {
        1: (5, 0, "disengaged", 0, 1, 4, 5)
    }


def test_relapse_is_censored_at_exit_and_events_after_it_are_unseen(world: World) -> None:
    (
        attends_weekly(world.person(1), 1, 42)
        .exit(1, 45, "completed")
        .use(1, 50)
        .person(2)
        .attend(2, 10, 20)
        .exit(2, 30, "moved")
        .use(2, 31)
    )
    con = world.build(as_of=100)
    assert by_key(con, "relapse", COLS) == {
        1: (45, 0, "exit_completed", 0, 0, None),
        2: (30, 0, "exit_moved", 0, 0, None),
    }


def test_relapse_on_the_last_contact_day_counts(world: World) -> None:
    world.person(1).attend(1, 10).exit(1, 30, "completed").use(1, 30)
    con = world.build(as_of=100)
    assert by_key(con, "relapse", COLS) == {1: (30, 1, None, 1, 0, None)}


def test_relapse_is_censored_at_as_of_and_later_events_are_unseen(world: World) -> None:
    attends_weekly(world.person(1), 1, 56).use(1, 57)
    con = world.build(as_of=56)
    assert by_key(con, "relapse", COLS) == {1: (56, 0, "as_of", 0, 0, None)}


def test_relapse_follow_up_never_exceeds_retention(world: World) -> None:
    attends_weekly(world.person(1), 1, 35).use(1, 21).person(2).attend(2, 3).exit(2, 20, "dropped_out")
    con = world.build(as_of=100)
    assert con.execute(
        "select count(*) from marts.relapse join marts.retention using (participant_key)"
        " where relapse_days > retention_days"
    ).fetchone() == (0,)
    assert by_key(con, "relapse", COLS) == {
        1: (21, 1, None, 1, 0, None),
        2: (20, 0, "disengaged", 0, 0, None),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_relapse_agrees_with_the_rule_computed_by_hand_on_random_people(world: World, seed: int) -> None:
    people = random_people(world, seed)
    con = world.build(as_of=100, gap_days=21)
    last_contact = {k: v[0] for k, v in by_key(con, "retention", "retention_days").items()}
    expected = {}
    for p in people:
        contact = p["enrolled"] + last_contact[p["key"]]
        seen = [(day, kind) for day, kind in p["uses"] if p["enrolled"] < day <= contact]
        relapses = [day for day, kind in seen if kind == "relapse"]
        end = relapses[0] if relapses else contact
        expected[p["key"]] = (
            end - p["enrolled"],
            int(bool(relapses)),
            len(relapses),
            len(seen) - len(relapses),
        )
    assert by_key(con, "relapse", "relapse_days, is_relapse, n_relapses, n_lapses") == expected
    assert sum(v[1] for v in expected.values()) > 5
