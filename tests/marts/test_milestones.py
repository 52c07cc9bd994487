"""marts.milestones: one row per person and milestone; origin recovery_start_on else enrolled_on."""

from __future__ import annotations

from marts_world import World, d, rows

COLS = "participant_key, milestone_days, origin_on, achieved_on, days_to_achieve, is_achieved, is_observable"


def test_every_person_gets_the_six_milestones(world: World) -> None:
    con = world.person(1).person(2).build(as_of=10)
    assert rows(con, "milestones", "participant_key, milestone_days", order="1, 2") == [
        (k, m) for k in (1, 2) for m in (30, 60, 90, 180, 365, 730)
    ]


def test_origin_is_recovery_start_else_enrollment(world: World) -> None:
    con = world.person(1, recovery_start_on=d(-20)).person(2).build(as_of=100)
    assert rows(con, "milestones", "participant_key, origin_on, is_recovery_origin", order="1, 2")[::6] == [
        (1, d(-20), 1),
        (2, d(0), 0),
    ]


def test_achieved_and_observable_at_the_as_of_boundary(world: World) -> None:
    # origin day -20: the 30-day milestone is due on day 10, the 60-day one on day 40, 90 on day 70
    (
        world.person(1, recovery_start_on=d(-20))
        .milestone(1, 30, 10)
        .milestone(1, 60, 41)
        .milestone(1, 90, 71)  # after as_of: unseen
        .milestone(1, 45, 25)  # not one of the six: ignored
    )
    con = world.build(as_of=70)
    got = rows(con, "milestones", COLS + ", is_before_enrollment", order="participant_key, milestone_days")
    assert got[:4] == [
        (1, 30, d(-20), d(10), 30, 1, 1, 0),
        (1, 60, d(-20), d(41), 61, 1, 1, 0),
        (1, 90, d(-20), None, None, 0, 1, 0),  # due on day 70 = as_of: observable, not achieved
        (1, 180, d(-20), None, None, 0, 0, 0),
    ]


def test_one_day_short_of_the_milestone_is_not_observable(world: World) -> None:
    con = world.person(1).build(as_of=29)
    assert rows(con, "milestones", "milestone_days, is_observable", order="2 desc, 1")[0] == (30, 0)


def test_milestones_due_before_enrollment_are_flagged(world: World) -> None:
    world.person(1, enrolled=0, recovery_start_on=d(-100)).milestone(1, 30, -70).milestone(1, 90, -10)
    con = world.build(as_of=200)  # the 180-day milestone is due on day 80, the 365-day one on day 265
    assert rows(
        con,
        "milestones",
        "milestone_days, is_achieved, is_before_enrollment, is_observable",
        order="milestone_days",
    ) == [
        (30, 1, 1, 1),
        (60, 0, 1, 1),
        (90, 1, 1, 1),
        (180, 0, 0, 1),
        (365, 0, 0, 0),
        (730, 0, 0, 0),
    ]


def test_an_achievement_dated_before_the_origin_is_ignored(world: World) -> None:
    con = world.person(1, enrolled=5).milestone(1, 30, 2).build(as_of=100)
    assert rows(con, "milestones", "milestone_days, is_achieved", order="1")[0] == (30, 0)


def test_the_milestones_are_the_ones_in_the_load_settings(world: World) -> None:
    con = world.person(1).milestone(1, 45, 50).build(as_of=100, milestone_days=(45, 120))
    assert rows(con, "milestones", "milestone_days, is_achieved, is_observable", order="1") == [
        (45, 1, 1),
        (120, 0, 0),
    ]
