"""marts.attendance_weekly: expected, attended and no-show counts per week and participant group."""

from __future__ import annotations

from marts_world import World, d, rows

COLS = "week_start, site, program_track, cohort_month, format, n_expected, n_attended, n_no_show, n_people"


def test_counts_per_monday_week_participant_group_and_format(world: World) -> None:
    # DAY0 is a Monday (2025-01-06); day 6 is the Sunday of the same week
    (
        world.person(1, program_track="long")
        .attend(1, 0, 6)
        .attend(1, 3, status="no_show")
        .attend(1, 4, status="cancelled")
        .attend(1, 5, status="excused")
        .person(2, program_track="long")
        .attend(2, 2)
        .attend(2, 8, format="online")
        .person(3, program_track="short", site="S2")
        .attend(3, 1, status="no_show")
    )
    con = world.build(as_of=20)
    assert rows(con, "attendance_weekly", COLS, order="week_start, site, program_track, format") == [
        (d(0), "S1", "long", d(-5), "group", 4, 3, 1, 2),
        (d(0), "S2", "short", d(-5), "group", 1, 0, 1, 1),
        (d(7), "S1", "long", d(-5), "online", 1, 1, 0, 1),
    ]


def test_only_sessions_inside_follow_up_are_counted(world: World) -> None:
    world.person(1, enrolled=7).attend(1, 3, 8, 15).exit(1, 10, "moved")
    con = world.build(as_of=20)
    assert rows(con, "attendance_weekly", "week_start, n_expected", order="week_start") == [(d(7), 1)]
