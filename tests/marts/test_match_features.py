"""marts.match_features: the first match defines the mentor; rematches counted (docs/outcomes.md)."""

from __future__ import annotations

import pytest
from marts_world import World, by_key, d

COLS = (
    "is_matched, first_matched_on, days_to_first_match, n_matches, n_rematches, mentor_key, mentor_certified"
)


def test_first_match_defines_the_mentor_and_later_ones_are_rematches(world: World) -> None:
    (
        world.mentor(10, certified_on=d(-50))
        .mentor(11, certified_on=d(-50))
        .person(1)
        .attend(1, *range(5, 60, 5))
        .match(1, 11, 20)
        .match(1, 10, 4)
        .match(1, 10, 40)
    )
    con = world.build(as_of=60)
    assert by_key(con, "match_features", COLS) == {1: (1, d(4), 4, 3, 2, 10, 1)}


def test_certification_counts_only_when_on_or_before_the_match(world: World) -> None:
    (
        world.mentor(10, certified_on=d(5))
        .mentor(11, certified_on=d(6))
        .mentor(12)
        .person(1)
        .match(1, 10, 5)  # certified the same day: certified
        .person(2)
        .match(2, 11, 5)  # certified the day after the match: not
        .person(3)
        .match(3, 12, 5)  # never certified: not
    )
    con = world.build(as_of=20)
    assert {k: v[-1] for k, v in by_key(con, "match_features", COLS).items()} == {1: 1, 2: 0, 3: 0}


def test_unmatched_people_have_no_mentor_features(world: World) -> None:
    con = world.person(1).build(as_of=20)
    assert by_key(con, "match_features", COLS + ", mentor_years_recovery, same_gender, same_substance") == {
        1: (0, None, None, 0, 0, None, None, None, None, None)
    }


def test_matches_after_follow_up_are_ignored_and_before_enrollment_count_as_day_zero(world: World) -> None:
    (
        world.mentor(10)
        .person(1, enrolled=10)
        .match(1, 10, 7)  # met the mentor 3 days before enrolling
        .person(2)
        .attend(2, 5)
        .exit(2, 10, "moved")
        .match(2, 10, 11)  # matched after the exit
        .person(3)
        .match(3, 10, 25)  # matched after as_of
    )
    con = world.build(as_of=20)
    assert by_key(con, "match_features", "is_matched, days_to_first_match, n_rematches") == {
        1: (1, 0, 0),
        2: (0, None, 0),
        3: (0, None, 0),
    }


def test_mentor_years_in_recovery_are_counted_at_the_match(world: World) -> None:
    world.mentor(10, recovery_start_on=d(-731)).person(1).match(1, 10, 0)
    con = world.build(as_of=20)
    assert by_key(con, "match_features", "mentor_years_recovery")[1][0] == pytest.approx(731 / 365.25)


@pytest.mark.parametrize(
    ("mine", "theirs", "same"),
    [
        ("female", "female", 1),
        ("female", "male", 0),
        ("nonbinary", "nonbinary", 1),
        ("female", "unknown", None),
        (None, "male", None),
        ("other", "other", None),
    ],
)
def test_same_gender_is_unknown_when_either_side_is(world: World, mine, theirs, same) -> None:
    world.mentor(10, gender=theirs).person(1, gender=mine).match(1, 10, 0)
    con = world.build(as_of=20)
    assert by_key(con, "match_features", "same_gender") == {1: (same,)}


@pytest.mark.parametrize(
    ("mine", "theirs", "same"),
    [
        ("opioids", "opioids", 1),
        ("opioids", "alcohol", 0),
        ("polysubstance", "opioids", 0),
        ("unknown", "opioids", None),
        ("opioids", None, None),
        ("other", "other", None),
    ],
)
def test_same_substance_is_unknown_when_either_side_is(world: World, mine, theirs, same) -> None:
    world.mentor(10, primary_substance=theirs).person(1, primary_substance=mine).match(1, 10, 0)
    con = world.build(as_of=20)
    assert by_key(con, "match_features", "same_substance") == {1: (same,)}
