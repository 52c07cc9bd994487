"""marts.mentor_months (supervision against the policy, incidents per month) and marts.pathway (completers
who become mentors) (docs/outcomes.md#mentor_months, #pathway)."""

from __future__ import annotations

from datetime import date

from marts_world import World, by_key, d, rows


def month(world: World, mentor: int, first_day: date, hours: float, active: bool = True) -> None:
    world.fact("mentor_activity", mentor_key=mentor, month=first_day, supervision_hours=hours, training_hours=0.0,
               active=active)


def incident(world: World, iid: str, mentor: int, day: date, kind: str = "boundary", severity: str = "low") -> None:
    world.fact("incidents", incident_id=iid, mentor_key=mentor, occurred_on=day, kind=kind, severity=severity)


def test_months_are_supervised_against_the_policy_and_hold_their_incidents(world: World) -> None:
    world.person(1).mentor(1).mentor(2, site="S2")
    month(world, 1, date(2025, 1, 1), 1.0)
    month(world, 1, date(2025, 2, 1), 0.5)
    month(world, 1, date(2025, 3, 1), 0.0, active=False)
    month(world, 2, date(2025, 1, 1), 2.0)
    incident(world, "i1", 1, date(2025, 2, 3))
    incident(world, "i2", 1, date(2025, 2, 28), kind="safety", severity="high")
    incident(world, "i3", 2, date(2025, 4, 9), kind="conduct")  # a month without an activity row: kept
    incident(world, "i4", 2, date(2025, 9, 1))  # after as_of
    con = world.build(as_of=120)  # 2025-05-06
    assert rows(con, "mentor_months", "mentor_key, site, month, has_activity, is_active, is_supervised, n_incidents, "
                "n_boundary, n_safety, n_conduct, n_high_severity", order="mentor_key, month") == [
        (1, "S1", date(2025, 1, 1), 1, 1, 1, 0, 0, 0, 0, 0),
        (1, "S1", date(2025, 2, 1), 1, 1, 0, 2, 1, 1, 0, 1),
        (1, "S1", date(2025, 3, 1), 1, 0, 0, 0, 0, 0, 0, 0),
        (2, "S2", date(2025, 1, 1), 1, 1, 1, 0, 0, 0, 0, 0),
        (2, "S2", date(2025, 4, 1), 0, None, None, 1, 0, 0, 1, 0),
    ]


def test_the_supervision_policy_comes_from_the_settings_of_the_load(world: World) -> None:
    world.person(1).mentor(1)
    month(world, 1, date(2025, 1, 1), 1.0)
    month(world, 1, date(2025, 2, 1), 2.0)
    con = world.build(as_of=120, supervision_hours=2.0)
    assert rows(con, "mentor_months", "month, is_supervised", order="month") == [
        (date(2025, 1, 1), 0),
        (date(2025, 2, 1), 1),
    ]


def test_pathway_follows_completers_from_completion_to_their_first_mentor_start(world: World) -> None:
    world.person(1).exit(1, 30, "completed").person(2).exit(2, 40, "completed").person(3).exit(3, 20, "moved")
    world.person(4).exit(4, 50, "completed")
    world.person(5).exit(5, 60, "completed")
    world.mentor(1, started_on=d(130), former_participant_pid=f"{1:064x}")
    world.mentor(2, started_on=d(200), former_participant_pid=f"{1:064x}")  # a second mentor row: the first counts
    world.mentor(3, started_on=d(90), former_participant_pid=f"{3:064x}")  # not a completer
    world.mentor(4, started_on=d(40), former_participant_pid=f"{4:064x}")  # mentoring before completing: 0 days
    world.mentor(5, started_on=d(400), former_participant_pid=f"{5:064x}")  # after as_of: not yet
    con = world.build(as_of=300)
    assert by_key(con, "pathway", "completed_on, mentor_started_on, is_mentor, time_days") == {
        1: (d(30), d(130), 1, 100),
        2: (d(40), None, 0, 260),
        4: (d(50), d(40), 1, 0),
        5: (d(60), None, 0, 240),
    }
