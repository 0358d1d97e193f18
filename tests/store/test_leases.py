"""Leases on both databases: one holder, renewal, takeover after expiry, release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cronwell.engine.clock import ManualClock
from cronwell.engine.leader import LeaderLease
from cronwell.store.database import Database
from cronwell.store.leases import hold, list_leases

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=15)


def test_one_holder_until_it_stops_renewing(database: Database) -> None:
    def try_hold(owner: str, at: datetime) -> bool:
        with database.transaction() as connection:
            return hold(connection, "scheduler", owner=owner, now=at, ttl=TTL)

    assert try_hold("a", NOW)
    assert not try_hold("b", NOW + timedelta(seconds=1))
    assert try_hold("a", NOW + timedelta(seconds=10))  # renewed until 12:00:25
    assert not try_hold("b", NOW + timedelta(seconds=20))
    assert try_hold("b", NOW + timedelta(seconds=26))  # a stopped renewing: b takes over
    assert not try_hold("a", NOW + timedelta(seconds=27))
    with database.transaction(write=False) as connection:
        (lease,) = list_leases(connection)
    assert (lease.owner, lease.takeovers) == ("b", 1)
    assert (lease.acquired_at, lease.expires_at) == (
        NOW + timedelta(seconds=26),
        NOW + timedelta(seconds=41),
    )


def test_a_stand_by_takes_over_within_the_lease_time_or_at_once_on_release(
    database: Database,
) -> None:
    clock = ManualClock(NOW)
    leader, stand_by = LeaderLease(database, clock), LeaderLease(database, clock)
    leader.tick(NOW)
    stand_by.tick(NOW)
    assert (leader.is_leader, stand_by.is_leader) == (True, False)
    stand_by.tick(NOW + TTL)  # the leader died at NOW: its lease ends at NOW + TTL
    assert not stand_by.is_leader
    stand_by.tick(NOW + TTL + timedelta(seconds=1))
    assert stand_by.is_leader
    stand_by.resign()
    leader.tick(NOW + TTL + timedelta(seconds=2))
    assert leader.is_leader, "a released lease is free at once"
