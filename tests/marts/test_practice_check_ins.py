"""marts.check_in_weekly and marts.check_in_regularity: reached check-ins per week of the relapse spell, and
the share of weeks since the first match with one (docs/outcomes.md#check_in_weekly)."""

from __future__ import annotations

from marts_world import World, by_key, rows


def check_in(world: World, key: int, day: int, reached: bool = True, mode: str = "phone") -> World:
    return world.fact("check_ins", participant_key=key, mentor_key=1, checked_in_on=day, mode=mode, reached=reached)


def test_check_ins_fall_in_the_dose_week_holding_their_day_and_lag_by_one_week(world: World) -> None:
    world.mentor(1).person(1).attend(1, 0, 3, 9, 16, 17, 40).use(1, 17).match(1, 1, 0)
    check_in(world, 1, 0)  # day 0: week 0
    check_in(world, 1, 7)  # (0, 7]: week 0
    check_in(world, 1, 7, reached=False, mode="text")
    check_in(world, 1, 8, reached=False)  # week 1, not reached
    check_in(world, 1, 15)  # week 2
    check_in(world, 1, 30)  # after the relapse: no row holds it
    con = world.build(as_of=60)
    assert rows(con, "check_in_weekly",
                "week, start_days, stop_days, n_check_ins, n_reached, n_reached_prev_week, n_attended, "
                "n_attended_prev_week, is_relapse", order="week") == [
        (0, 0, 7, 3, 2, 0, 2, 0, 0),
        (1, 7, 14, 1, 0, 2, 1, 2, 0),
        (2, 14, 17, 1, 1, 0, 2, 1, 1),
    ]


def test_check_in_weekly_has_exactly_the_rows_of_dose_weekly(world: World) -> None:
    world.mentor(1)
    for key in range(1, 6):
        world.person(key, enrolled=key).attend(key, *range(key, 90, 5))
        check_in(world, key, key + 3 * key)
    world.use(2, 40).exit(3, 50, "completed")
    con = world.build(as_of=100)
    assert con.execute(
        """select count(*) from marts.dose_weekly d full join marts.check_in_weekly c using (participant_key, week)
           where d.stop_days is distinct from c.stop_days or d.is_relapse is distinct from c.is_relapse"""
    ).fetchone() == (0,)
    assert con.execute("select count(*) from marts.check_in_weekly").fetchone()[0] > 40


def test_regularity_counts_weeks_from_the_first_match_to_the_end_of_the_retention_spell(world: World) -> None:
    world.mentor(1)
    # 1: matched day 10 (week 1), engaged to day 40 (exit): weeks 1..5 = 5 weeks; reached in weeks 1, 3 (twice)
    world.person(1).attend(1, *range(0, 41, 5)).exit(1, 40, "completed").match(1, 1, 10)
    check_in(world, 1, 5)  # week 0: before the match week
    check_in(world, 1, 12)
    check_in(world, 1, 23).fact("check_ins", participant_key=1, mentor_key=1, checked_in_on=24, mode="text",
                                 reached=True)
    check_in(world, 1, 30, reached=False)
    check_in(world, 1, 45)  # after the spell
    # 2: never matched: no weeks
    world.person(2).attend(2, *range(0, 41, 5)).exit(2, 40, "completed")
    # 3: matched after disengaging (last session day 5, gap 30): not matched in the spell
    world.person(3).attend(3, 5).match(3, 1, 60)
    # 4: matched before enrollment: week 0; spell of 14 days = weeks 0, 1
    world.person(4, enrolled=10).attend(4, 10, 24).exit(4, 24, "moved").match(4, 1, 2)
    check_in(world, 4, 10)
    # 5: matched and reached on the enrollment day, then never attended: a 0-day spell has no weeks
    world.person(5).match(5, 1, 0)
    check_in(world, 5, 0)
    con = world.build(as_of=100)
    assert by_key(con, "check_in_regularity",
                  "is_matched_in_spell, first_match_week, n_weeks, n_weeks_reached, n_check_ins, n_reached, "
                  "share_weeks_reached") == {
        1: (1, 1, 5, 2, 4, 3, 0.4),
        2: (0, None, 0, 0, 0, 0, None),
        3: (0, None, 0, 0, 0, 0, None),
        4: (1, 0, 2, 1, 1, 1, 0.5),
        5: (1, 0, 0, 0, 0, 0, None),
    }
