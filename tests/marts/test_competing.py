"""marts.competing: first of relapse (1), dropout (2), completion (3), else censored (0)."""

from __future__ import annotations

from marts_world import World, by_key

COLS = "time_days, event_code, event_name"


def test_each_first_event_gets_its_code_and_time(world: World) -> None:
    weekly = range(7, 99, 7)
    (
        world.person(1)
        .attend(1, *weekly)
        .use(1, 25)  # relapse first
        .person(2)
        .attend(2, 10)  # disengaged at day 10; a later relapse is unseen
        .use(2, 50)
        .person(3)
        .attend(3, 7, 14)
        .exit(3, 20, "completed")  # completion
        .person(4)
        .attend(4, *weekly)  # censored at as_of
        .person(5)
        .attend(5, 10)
        .exit(5, 15, "deceased")  # censored at a non-dropout exit
    )
    con = world.build(as_of=98)
    assert by_key(con, "competing", COLS) == {
        1: (25, 1, "relapse"),
        2: (10, 2, "dropout"),
        3: (20, 3, "completion"),
        4: (98, 0, "censored"),
        5: (15, 0, "censored"),
    }


def test_a_relapse_on_the_day_of_completion_or_disengagement_wins(world: World) -> None:
    (
        world.person(1)
        .attend(1, 10)
        .exit(1, 20, "completed")
        .use(1, 20)
        .person(2)
        .attend(2, 10)
        .use(2, 10)  # relapse on the last attended day, then a 30-day gap
    )
    con = world.build(as_of=60)
    assert by_key(con, "competing", COLS) == {1: (20, 1, "relapse"), 2: (10, 1, "relapse")}
