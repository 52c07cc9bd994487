"""marts.dose_weekly: counting-process rows over the relapse spell (docs/outcomes.md#dose_weekly)."""

from __future__ import annotations

from marts_world import World, rows

COLS = "week, start_days, stop_days, n_attended, n_one_on_one, n_group, n_online, n_workshop, n_no_show, is_relapse, is_disengaged"


def test_sessions_fall_in_the_week_whose_interval_holds_their_day(world: World) -> None:
    (
        world.person(1)
        .attend(1, 0, format="one_on_one")  # day 0 belongs to week 0
        .attend(1, 7, format="group")  # (0, 7]
        .attend(1, 8, format="online")  # (7, 14]
        .attend(1, 13, status="no_show")
        .attend(1, 13, status="cancelled")  # neither attended nor expected
        .attend(1, 17, format="workshop")  # the relapse day: in the last row
        .attend(1, 18, format="group")  # after the relapse: outside the spell
        .use(1, 17)
    )
    con = world.build(as_of=60)
    assert rows(con, "dose_weekly", COLS, order="week") == [
        (0, 0, 7, 2, 1, 1, 0, 0, 0, 0, 0),
        (1, 7, 14, 1, 0, 0, 1, 0, 1, 0, 0),
        (2, 14, 17, 1, 0, 0, 0, 1, 0, 1, 0),
    ]


def test_a_relapse_on_a_week_boundary_ends_a_full_week(world: World) -> None:
    con = world.person(1).attend(1, 3, 10, 30, 55).use(1, 14).build(as_of=60)
    assert rows(con, "dose_weekly", "week, start_days, stop_days, is_relapse", order="week") == [
        (0, 0, 7, 0),
        (1, 7, 14, 1),
    ]


def test_spell_censored_by_disengagement_marks_the_last_row(world: World) -> None:
    con = world.person(1).attend(1, 5, 9).use(1, 50).build(as_of=100)  # contact lost at day 9
    assert rows(
        con, "dose_weekly", "week, start_days, stop_days, n_attended, is_relapse, is_disengaged", order="week"
    ) == [(0, 0, 7, 1, 0, 0), (1, 7, 9, 1, 0, 1)]


def test_rows_partition_each_relapse_spell_exactly(world: World) -> None:
    weekly = range(6, 120, 6)
    (
        world.person(1)
        .attend(1, *weekly)
        .use(1, 45)
        .person(2)
        .attend(2, *weekly)  # censored at as_of (100)
        .person(3)
        .attend(3, 4, 12)
        .exit(3, 20, "completed")
        .person(4)
        .attend(4, 1)
        .exit(4, 1, "moved")  # a one-day spell
        .person(5)  # disengaged at enrollment: a 0-day spell has no rows
        .person(6, enrolled=100)
        .attend(6, 100)  # enrolled on as_of: 0 days, no rows
    )
    con = world.build(as_of=100)
    assert con.execute(
        """select r.participant_key, r.relapse_days, coalesce(sum(w.stop_days - w.start_days), 0),
                  count(w.week), coalesce(sum(w.is_relapse), 0), coalesce(sum(w.is_disengaged), 0)
           from marts.relapse r left join marts.dose_weekly w using (participant_key)
           group by all order by 1"""
    ).fetchall() == [
        (1, 45, 45, 7, 1, 0),
        (2, 100, 100, 15, 0, 0),
        (3, 20, 20, 3, 0, 0),
        (4, 1, 1, 1, 0, 0),
        (5, 0, 0, 0, 0, 0),
        (6, 0, 0, 0, 0, 0),
    ]
    # consecutive rows: each starts where the previous one stopped
    assert con.execute(
        """select count(*) from (select start_days, lag(stop_days, 1, 0) over (partition by participant_key
           order by week) as prev_stop from marts.dose_weekly) where start_days <> prev_stop"""
    ).fetchone() == (0,)


def test_attended_sessions_in_rows_add_up_to_those_in_the_spell(world: World) -> None:
    world.person(1).attend(1, 0, 1, 2, 15, 16, 29, 30, 31).use(1, 30)
    con = world.build(as_of=100)
    assert con.execute("select sum(n_attended) from marts.dose_weekly").fetchone() == (7,)
