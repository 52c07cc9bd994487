"""marts.goals and marts.goal_setting: time from set_on to met, abandoned competing, and goals set in the
first 30 days (docs/outcomes.md#goals)."""

from __future__ import annotations

from marts_world import World, by_key, rows


def goal(world: World, goal_id: str, key: int, set_on: int, status: str, status_on: int, domain: str = "housing") -> None:
    world.fact("goals", goal_id=goal_id, participant_key=key, domain=domain, set_on=set_on, status=status,
               status_on=status_on)


def test_met_and_abandoned_end_a_goal_and_open_or_revised_goals_are_censored_at_as_of(world: World) -> None:
    world.person(1).person(2, enrolled=50)
    goal(world, "g1", 1, 5, "met", 40)
    goal(world, "g2", 1, 10, "abandoned", 30, domain="employment")
    goal(world, "g3", 1, 20, "open", 20)
    goal(world, "g4", 1, 29, "revised", 60)  # a revision does not end the goal
    goal(world, "g5", 1, 30, "met", 35)  # day 30: no longer in the first 30 days
    goal(world, "g6", 1, -2, "met", 10)  # set before enrollment: not a goal of the program
    goal(world, "g7", 2, 52, "met", 52)  # met the day it was set: 0 days
    con = world.build(as_of=100)
    assert rows(con, "goals", "goal_id, set_days, is_first_30_days, time_days, event_code, event_name, is_met",
                order="goal_id") == [
        ("g1", 5, 1, 35, 1, "met", 1),
        ("g2", 10, 1, 20, 2, "abandoned", 0),
        ("g3", 20, 1, 80, 0, "censored", 0),
        ("g4", 29, 1, 71, 0, "censored", 0),
        ("g5", 30, 0, 5, 1, "met", 1),
        ("g7", 2, 1, 0, 1, "met", 1),
    ]


def test_goals_of_people_enrolled_after_as_of_are_left_out(world: World) -> None:
    world.person(1).person(2, enrolled=120)
    goal(world, "g1", 1, 5, "met", 40)
    goal(world, "g2", 2, 121, "open", 121)
    con = world.build(as_of=100)
    assert rows(con, "goals", "goal_id", order="goal_id") == [("g1",)]


def test_goal_setting_counts_goals_and_domains_of_the_first_30_days_and_who_was_followed_that_long(
    world: World,
) -> None:
    world.person(1).person(2, enrolled=60).person(3, enrolled=71).person(4, enrolled=72)
    goal(world, "a", 1, 0, "open", 0, domain="housing")
    goal(world, "b", 1, 29, "open", 29, domain="housing")
    goal(world, "c", 1, 12, "open", 12, domain="legal")
    goal(world, "d", 1, 30, "open", 30)  # after the first 30 days
    goal(world, "e", 2, 65, "met", 70)
    con = world.build(as_of=100)
    # person 3 enrolled on day 71: days 71..100 are all 30 days; person 4 misses day 29
    assert by_key(con, "goal_setting", "is_observable_30_days, n_goals_first_30_days, n_domains_first_30_days, n_goals") == {
        1: (1, 3, 2, 4),
        2: (1, 1, 1, 1),
        3: (1, 0, 0, 0),
        4: (0, 0, 0, 0),
    }


def test_without_the_practice_files_every_practice_mart_builds_empty_or_with_zero_counts(world: World) -> None:
    con = world.person(1).attend(1, 0, 5).build(as_of=100)
    for mart in ("goals", "referrals", "mentor_months", "pathway"):
        assert con.execute(f"select count(*) from marts.{mart}").fetchone() == (0,), mart
    assert by_key(con, "goal_setting", "n_goals_first_30_days, n_goals") == {1: (0, 0)}
    assert by_key(con, "check_in_regularity", "n_weeks, share_weeks_reached") == {1: (0, None)}
    assert con.execute("select count(*), sum(n_check_ins) from marts.check_in_weekly").fetchone() == (1, 0)
