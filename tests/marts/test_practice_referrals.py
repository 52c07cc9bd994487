"""marts.referrals: time from a referral to its connection, censored at as_of, and connection within 30
days (docs/outcomes.md#referrals)."""

from __future__ import annotations

from marts_world import World, rows


def referral(world: World, rid: str, made_on: int, resource_type: str, outcome: str, connected_on: int | None = None,
             key: int = 1) -> None:
    world.fact("referrals", referral_id=rid, participant_key=key, made_on=made_on, resource_type=resource_type,
               outcome=outcome, connected_on=connected_on)


def test_connections_are_timed_from_the_referral_and_the_rest_censored_at_as_of(world: World) -> None:
    world.person(1).person(2, enrolled=10)
    referral(world, "r1", 5, "treatment", "connected", 20)
    referral(world, "r2", 5, "mat", "connected", 36)  # 31 days: connected, not within 30
    referral(world, "r3", 5, "detox", "connected", 35)  # exactly 30 days: within
    referral(world, "r4", 10, "housing", "declined")
    referral(world, "r5", 80, "treatment", "pending")  # made 20 days before as_of: not observable at 30 days
    referral(world, "r6", 40, "treatment", "connected")  # connected, no date: no time
    referral(world, "r7", 5, "treatment", "connected", 20, key=2)  # before enrollment: left out
    con = world.build(as_of=100)
    assert rows(con, "referrals", "referral_id, made_days, is_treatment, is_connected, time_days, "
                "is_observable_30_days, is_connected_30_days", order="referral_id") == [
        ("r1", 5, 1, 1, 15, 1, 1),
        ("r2", 5, 1, 1, 31, 1, 0),
        ("r3", 5, 1, 1, 30, 1, 1),
        ("r4", 10, 0, 0, 90, 1, 0),
        ("r5", 80, 1, 0, 20, 0, 0),
        ("r6", 40, 1, 1, None, 1, None),
    ]
