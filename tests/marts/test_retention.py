"""marts.retention: given core rows, the exact retention spell (docs/outcomes.md#retention)."""

from __future__ import annotations

from datetime import date

import pytest
from marts_world import DAY0, World, by_key, d, random_people

COLS = "end_on, retention_days, retention_outcome, censor_reason"


def test_retention_censors_at_as_of_when_no_gap_is_open(world: World) -> None:
    con = world.person(1).attend(1, 10, 30).build(as_of=50)
    assert by_key(con, "retention", COLS + ", last_attended_on, n_attended, is_disengaged, is_completed") == {
        1: (d(50), 50, "censored", "as_of", d(30), 2, 0, 0)
    }


def test_open_gap_at_as_of_counts_only_from_gap_days(world: World) -> None:
    # last attended 29 days before as_of: still engaged; 30 days before: disengaged at that session
    con = world.person(1).attend(1, 20).person(2).attend(2, 19).build(as_of=49)
    assert by_key(con, "retention", COLS) == {
        1: (d(49), 49, "censored", "as_of"),
        2: (d(19), 19, "disengaged", None),
    }


def test_gap_of_gap_days_minus_one_is_not_disengagement_but_gap_days_is(world: World) -> None:
    con = (
        world.person(1)
        .attend(1, 29, 58)  # gaps of 29 days
        .person(2)
        .attend(2, 30, 40)  # 30 days from enrollment to the first session
        .build(as_of=70)
    )
    assert by_key(con, "retention", COLS) == {
        1: (d(70), 70, "censored", "as_of"),
        2: (d(0), 0, "disengaged", None),
    }


def test_gap_days_comes_from_settings(world: World) -> None:
    con = world.person(1).attend(1, 10, 30).build(as_of=35, gap_days=14)
    assert by_key(con, "retention", COLS) == {1: (d(10), 10, "disengaged", None)}


def test_no_attended_session_disengages_at_enrollment_once_gap_days_pass(world: World) -> None:
    con = world.person(1).person(2, enrolled=11).build(as_of=40)
    assert by_key(con, "retention", COLS + ", last_attended_on, n_attended") == {
        1: (d(0), 0, "disengaged", None, None, 0),
        2: (d(40), 29, "censored", "as_of", None, 0),
    }


def test_first_gap_counts_even_when_the_person_comes_back(world: World) -> None:
    con = world.person(1).attend(1, 10, 50, 60).build(as_of=80)
    assert by_key(con, "retention", COLS + ", last_attended_on, n_attended") == {
        1: (d(10), 10, "disengaged", None, d(60), 3)
    }


def test_no_show_cancelled_and_excused_are_not_attendance(world: World) -> None:
    con = (
        world.person(1)
        .attend(1, 10, status="no_show")
        .attend(1, 20, status="cancelled")
        .attend(1, 25, status="excused")
        .build(as_of=40)
    )
    assert by_key(con, "retention", COLS + ", n_attended") == {1: (d(0), 0, "disengaged", None, 0)}


def test_dropped_out_exit_is_dated_at_the_earlier_of_exit_and_gap(world: World) -> None:
    con = (
        world.person(1)
        .attend(1, 10, 20)
        .exit(1, 35, "dropped_out")  # no gap yet: the exit date
        .person(2)
        .attend(2, 10)
        .exit(2, 60, "dropped_out")  # gap from day 10 to the exit: day 10
        .build(as_of=100)
    )
    assert by_key(con, "retention", COLS + ", exit_on, exit_reason") == {
        1: (d(35), 35, "disengaged", None, d(35), "dropped_out"),
        2: (d(10), 10, "disengaged", None, d(60), "dropped_out"),
    }


def test_completion_is_a_competing_event_at_exit(world: World) -> None:
    con = world.person(1).attend(1, 10, 30).exit(1, 40, "completed").build(as_of=100)
    assert by_key(con, "retention", COLS + ", is_completed, is_disengaged") == {
        1: (d(40), 40, "completed", None, 1, 0)
    }


def test_other_exits_censor_at_exit_on(world: World) -> None:
    con = (
        world.person(1)
        .attend(1, 10, 30)
        .exit(1, 40, "moved")
        .person(2)
        .attend(2, 5)
        .exit(2, 20, "incarcerated")
        .person(3)
        .exit(3, 0, "transferred")  # exit on the enrollment day: a 0-day spell
        .build(as_of=100)
    )
    assert by_key(con, "retention", COLS + ", follow_up_days") == {
        1: (d(40), 40, "censored", "exit_moved", 40),
        2: (d(20), 20, "censored", "exit_incarcerated", 20),
        3: (d(0), 0, "censored", "exit_transferred", 0),
    }


def test_a_gap_before_a_non_dropout_exit_is_disengagement(world: World) -> None:
    con = world.person(1).attend(1, 10).exit(1, 50, "moved").person(2).attend(2, 10).exit(2, 45, "completed")
    con = con.build(as_of=100)
    assert by_key(con, "retention", COLS) == {
        1: (d(10), 10, "disengaged", None),
        2: (d(10), 10, "disengaged", None),
    }


def test_sessions_after_the_exit_or_before_enrollment_are_ignored(world: World) -> None:
    con = world.person(1, enrolled=0).attend(1, -5, 10, 25).exit(1, 20, "completed").build(as_of=100)
    assert by_key(con, "retention", COLS + ", last_attended_on, n_attended") == {
        1: (d(20), 20, "completed", None, d(10), 1)
    }


def test_exit_after_as_of_is_not_seen(world: World) -> None:
    con = world.person(1).attend(1, 10, 30, 45).exit(1, 60, "completed").build(as_of=50)
    assert by_key(con, "retention", COLS + ", exit_on, follow_up_end_on") == {
        1: (d(50), 50, "censored", "as_of", None, d(50))
    }


def test_sessions_after_as_of_are_not_seen(world: World) -> None:
    con = world.person(1).attend(1, 10, 45).build(as_of=40)
    assert by_key(con, "retention", COLS + ", n_attended") == {1: (d(10), 10, "disengaged", None, 1)}


def test_people_enrolled_after_as_of_are_left_out(world: World) -> None:
    con = world.person(1).attend(1, 5).person(2, enrolled=41).build(as_of=40)
    assert list(by_key(con, "retention", COLS)) == [1]


def test_enrolled_on_as_of_gives_a_censored_spell_of_zero_days(world: World) -> None:
    con = world.person(1, enrolled=40).attend(1, 40).build(as_of=40)
    assert by_key(con, "retention", COLS + ", n_attended") == {1: (d(40), 0, "censored", "as_of", 1)}


def test_two_sessions_on_one_day_count_twice_but_make_one_point(world: World) -> None:
    con = world.person(1).attend(1, 10, 10, format="one_on_one").attend(1, 35).build(as_of=50)
    assert by_key(con, "retention", COLS + ", n_attended") == {1: (d(50), 50, "censored", "as_of", 3)}


def test_the_worked_example_in_docs_outcomes_holds(world: World) -> None:
    """The retention table in docs/outcomes.md, row by row (enrolled 2025-01-01, as_of 2025-06-30)."""

    def day(month: int, dom: int) -> int:
        return (date(2025, month, dom) - DAY0).days

    every_3_weeks = [day(1, 10) + 21 * k for k in range(9)]  # Jan 10 ... Jun 27
    examples = [  # attended, exit, expected end, days, outcome
        (every_3_weeks, None, (6, 30), 180, "censored"),
        ([(1, 10), (1, 31)], None, (1, 31), 30, "disengaged"),
        ([(1, 10), (2, 9), (2, 20)], None, (1, 10), 9, "disengaged"),
        ([], None, (1, 1), 0, "disengaged"),
        ([(1, 10), (1, 20)], ((2, 5), "dropped_out"), (2, 5), 35, "disengaged"),
        ([(1, 10)], ((3, 1), "dropped_out"), (1, 10), 9, "disengaged"),
        ([(1, 10), (1, 30)], ((2, 10), "completed"), (2, 10), 40, "completed"),
        ([(1, 10), (1, 30)], ((2, 10), "moved"), (2, 10), 40, "censored"),
        ([(1, 10)], ((3, 1), "completed"), (1, 10), 9, "disengaged"),
        ([(1, 10), (2, 1), (3, 5)], ((2, 20), "completed"), (2, 20), 50, "completed"),
    ]
    for key, (attended, exit_, _, _, _) in enumerate(examples, start=1):
        world.person(key, enrolled=day(1, 1))
        world.attend(key, *[a if isinstance(a, int) else day(*a) for a in attended])
        if exit_:
            world.exit(key, day(*exit_[0]), exit_[1])
    con = world.build(as_of=day(6, 30))
    assert by_key(con, "retention", "end_on, retention_days, retention_outcome") == {
        key: (date(2025, *end), days, outcome)
        for key, (_, _, end, days, outcome) in enumerate(examples, start=1)
    }


def retention_by_hand(p: dict, as_of: int, gap_days: int) -> tuple[int, str]:
    """The rule of docs/outcomes.md#retention read literally, in plain Python: (end day, outcome)."""
    exit_on, reason = p["exit"] if p["exit"] and p["enrolled"] <= p["exit"][0] <= as_of else (None, None)
    end_of_follow_up = exit_on if exit_on is not None else as_of
    points = [
        p["enrolled"],
        *[a for a in p["attended"] if p["enrolled"] <= a <= end_of_follow_up],
        end_of_follow_up,
    ]
    gap_on = next(
        (points[i - 1] for i in range(1, len(points)) if points[i] - points[i - 1] >= gap_days), None
    )
    if reason == "dropped_out":
        return min(exit_on, gap_on if gap_on is not None else exit_on), "disengaged"
    if gap_on is not None:
        return gap_on, "disengaged"
    if reason == "completed":
        return exit_on, "completed"
    return end_of_follow_up, "censored"


@pytest.mark.parametrize(
    ("seed", "gap_days"),  # short and long gaps too: the mart looks for gaps stretch by stretch of gap_days days
    [(1, 21), (2, 21), (3, 21), (4, 1), (5, 2), (6, 7), (7, 7), (8, 50)],
)
def test_retention_agrees_with_the_rule_computed_by_hand_on_random_people(world: World, seed: int, gap_days: int) -> None:
    people = random_people(world, seed)
    con = world.build(as_of=100, gap_days=gap_days)
    expected = {}
    for p in people:
        end, outcome = retention_by_hand(p, as_of=100, gap_days=gap_days)
        expected[p["key"]] = (d(end), end - p["enrolled"], outcome)
    assert by_key(con, "retention", "end_on, retention_days, retention_outcome") == expected
    if gap_days == 21:
        assert {o for _, _, o in expected.values()} == {"censored", "completed", "disengaged"}
