"""marts.participant_outcomes: the wide row joins the other marts and adds the engagement summary."""

from __future__ import annotations

import pytest
from marts_world import World, by_key, d


def test_the_wide_row_carries_each_marts_outcome(world: World) -> None:
    (
        world.mentor(10, certified_on=d(-1), gender="female")
        .person(1, gender="female", age_at_enrollment=40, program_track="long")
        .attend(1, *range(5, 100, 5))
        .use(1, 33)
        .use(1, 12, "lapse")
        .exit(1, 100, "completed")
        .match(1, 10, 3)
    )
    con = world.build(as_of=120)
    cols = (
        "site, program_track, cohort_month, cohort_quarter, age_group, retention_days, retention_outcome,"
        " is_completed, relapse_days, is_relapse, n_relapses, n_lapses, is_matched, days_to_first_match,"
        " mentor_certified, same_gender, n_rematches, follow_up_days, n_attended"
    )
    assert by_key(con, "participant_outcomes", cols) == {
        1: ("S1", "long", d(-5), "2025-Q1", "35-44", 100, "completed", 1, 33, 1, 1, 1, 1, 3, 1, 1, 0, 100, 19)
    }


@pytest.mark.parametrize(
    ("age", "group"),
    [
        (None, "unknown"),
        (18, "<25"),
        (24, "<25"),
        (25, "25-34"),
        (34, "25-34"),
        (35, "35-44"),
        (45, "45-54"),
        (54, "45-54"),
        (55, "55+"),
        (90, "55+"),
    ],
)
def test_age_groups_have_inclusive_lower_bounds(world: World, age, group) -> None:
    con = world.person(1, age_at_enrollment=age).build(as_of=10)
    assert by_key(con, "participant_outcomes", "age_group") == {1: (group,)}


def test_cohort_quarter_follows_the_enrollment_date(world: World) -> None:
    con = world.person(1, enrolled=84).person(2, enrolled=85).build(as_of=200)  # 2025-03-31, 2025-04-01
    assert by_key(con, "participant_outcomes", "cohort_month, cohort_quarter") == {
        1: (d(54), "2025-Q1"),
        2: (d(85), "2025-Q2"),
    }


def test_sessions_per_week_use_the_first_90_days_or_the_follow_up_if_shorter(world: World) -> None:
    (
        world.person(1)
        .attend(1, *range(0, 120, 3))  # days 0..89 hold 30 sessions; later ones do not count
        .person(2)
        .attend(2, 0, 7, 14, 20)
        .exit(2, 21, "moved")  # 21 days: days 0..20 hold 4 sessions
        .person(3, enrolled=150)  # enrolled on as_of: no window
        .person(4)  # never attended
    )
    con = world.build(as_of=150)
    got = by_key(con, "participant_outcomes", "sessions_per_week_90d")
    assert got[1][0] == pytest.approx(30 / (90 / 7))
    assert got[2][0] == pytest.approx(4 / (21 / 7))
    assert got[3] == (None,)
    assert got[4] == (0.0,)


def test_format_mix_and_main_format(world: World) -> None:
    (
        world.person(1)
        .attend(1, 1, 2, format="one_on_one")
        .attend(1, 3, format="group")
        .attend(1, 4, format="online")
        .person(2)
        .attend(2, 1, format="workshop")
        .attend(2, 2, format="group")  # tie: contract order wins
        .person(3)
    )
    con = world.build(as_of=20)
    assert by_key(con, "participant_outcomes", "share_one_on_one, main_format, n_attended") == {
        1: (0.5, "one_on_one", 4),
        2: (0.0, "group", 2),
        3: (None, "none", 0),
    }


def test_declared_covariates_ride_along_and_pseudonyms_do_not(world: World) -> None:
    world.person(1)
    con = world.build(as_of=20)
    con.execute("alter table participants add column housing_score integer")
    con.execute("update participants set housing_score = 3")
    from peer_outcomes.pipelines.marts import build_marts

    build_marts(con)
    cols = [r[0] for r in con.execute("describe marts.participant_outcomes").fetchall()]
    assert "housing_score" in cols
    assert "participant_pid" not in cols
    assert by_key(con, "participant_outcomes", "housing_score") == {1: (3,)}


def test_people_are_meant_to_be_matched_in_every_track_where_anyone_was(world: World) -> None:
    (
        world.mentor(10)
        .person(1, program_track="peer").match(1, 10, 3)
        .person(2, program_track="peer")  # not matched, but in a track where someone was
        .person(3, program_track="usual")  # no one in usual care is ever matched
        .person(4).match(4, 10, 5)  # no track recorded: its own group, 'none'
        .person(5)
        .person(6, program_track="late").match(6, 10, 50)  # matched only after follow-up ended: not matched
    )
    con = world.build(as_of=40)
    assert by_key(con, "participant_outcomes", "is_matched, is_meant_to_be_matched") == {
        1: (1, True), 2: (0, True), 3: (0, False), 4: (1, True), 5: (0, True), 6: (0, False),
    }


def test_the_mapping_names_the_tracks_meant_to_be_matched(world: World) -> None:
    world.mentor(10).person(1, program_track="peer").match(1, 10, 3).person(2, program_track="usual")
    world.rows["matched_tracks"].append({"program_track": "usual"})  # mapping.yaml: matched_tracks: [usual]
    con = world.build(as_of=40)
    assert by_key(con, "participant_outcomes", "is_meant_to_be_matched") == {1: (False,), 2: (True,)}
