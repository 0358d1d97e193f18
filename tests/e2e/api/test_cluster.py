"""The cluster over HTTP: workers and whether they beat, the leases held, the statistics and
the global pause."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.store.leases import hold
from cronwell.store.runs import claim_run
from cronwell.store.workers import register_worker, stop_worker
from tests.e2e.api.conftest import NOW, Served

LEASE = timedelta(seconds=30)


def _worker(app: Cronwell, worker_id: str, *, started_ago: timedelta) -> None:
    with app.database.transaction() as connection:
        register_worker(
            connection,
            worker_id,
            hostname="box",
            pid=len(worker_id),
            queues=["default", "reports"],
            concurrency=2,
            lease=LEASE,
            now=NOW - started_ago,
        )


def test_workers_are_listed_newest_first_with_whether_they_beat(
    served: Served, viewer: httpx.Client
) -> None:
    _worker(served.app, "silent", started_ago=timedelta(minutes=5))
    _worker(served.app, "gone", started_ago=timedelta(minutes=2))
    _worker(served.app, "busy", started_ago=timedelta(seconds=10))
    with served.app.database.transaction() as connection:
        stop_worker(connection, "gone", NOW - timedelta(minutes=1))
    response = viewer.get("/workers")
    assert response.status_code == 200, response.text
    shown = [(w["id"], w["is_alive"]) for w in response.json()["items"]]
    assert shown == [("busy", True), ("gone", False), ("silent", False)]
    busy = response.json()["items"][0]
    assert (busy["queues"], busy["lease_seconds"], busy["stopped_at"]) == (
        ["default", "reports"],
        30.0,
        None,
    )
    assert response.json()["next"] is None
    running = viewer.get("/workers", params={"include_stopped": False}).json()["items"]
    assert [w["id"] for w in running] == ["busy", "silent"]


def test_workers_come_a_page_at_a_time(served: Served, viewer: httpx.Client) -> None:
    for minutes, worker_id in enumerate(["c", "b", "a"]):
        _worker(served.app, worker_id, started_ago=timedelta(minutes=minutes))
    first = viewer.get("/workers", params={"limit": 2}).json()
    assert ([w["id"] for w in first["items"]], first["next"]) == (["c", "b"], 2)
    last = viewer.get("/workers", params={"limit": 2, "offset": first["next"]}).json()
    assert ([w["id"] for w in last["items"]], last["next"]) == (["a"], None)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"offset": -1}, "offset"), ({"include_stopped": "x"}, None)],
)
def test_a_bad_worker_query_answers_422(
    viewer: httpx.Client, params: dict[str, object], field: str | None
) -> None:
    response = viewer.get("/workers", params=params)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert response.json()["field"] == (field or "include_stopped")


def test_leases_say_who_leads_and_which_worker_holds_which_run(
    served: Served, viewer: httpx.Client
) -> None:
    served.app.schedule("report", name="report")
    run_id = served.app.trigger_now("report")
    with served.app.database.transaction() as connection:
        hold(connection, "scheduler", owner="s1", now=NOW, ttl=LEASE, holder="box pid 7")
        claim_run(connection, run_id, owner="w1", now=NOW, lease=LEASE)
    response = viewer.get("/leases")
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["leader"] == "box pid 7"
    (leader,) = shown["leases"]
    assert (leader["name"], leader["owner"], leader["takeovers"]) == ("scheduler", "s1", 0)
    assert shown["runs"] == [
        {
            "run_id": run_id,
            "job": "report",
            "owner": "w1",
            "expires_at": "2026-03-02T09:00:30Z",
            "attempt": 1,
        }
    ]


def test_no_leases_no_leader(viewer: httpx.Client) -> None:
    assert viewer.get("/leases").json() == {"leader": None, "leases": [], "runs": []}


def test_statistics_count_jobs_and_the_uptime(
    served: Served, viewer: httpx.Client, clock: ManualClock
) -> None:
    served.app.schedule("report", "@daily", name="report")
    served.app.schedule("sync", "@hourly", name="sync")
    served.app.pause_schedule("sync")
    clock.advance(timedelta(minutes=90))
    response = viewer.get("/stats")
    assert response.status_code == 200, response.text
    shown = response.json()
    assert (shown["total_jobs"], shown["active_jobs"], shown["paused_jobs"]) == (2, 1, 1)
    assert (shown["uptime_seconds"], shown["is_paused"]) == (5400.0, False)
    assert shown["versions"] == 2


def test_an_admin_pauses_and_resumes_everything(
    served: Served, admin: httpx.Client, viewer: httpx.Client
) -> None:
    assert viewer.get("/pause").json() == {"is_paused": False}
    paused = admin.post("/pause")
    assert (paused.status_code, paused.json()) == (200, {"is_paused": True})
    assert served.app.is_paused()
    assert viewer.get("/pause").json() == {"is_paused": True}
    assert viewer.get("/stats").json()["is_paused"] is True
    resumed = admin.post("/resume")
    assert (resumed.status_code, resumed.json()) == (200, {"is_paused": False})
    assert not served.app.is_paused()


@pytest.mark.parametrize("path", ["/pause", "/resume"])
def test_an_operator_may_not_pause_or_resume_everything(
    served: Served, operator: httpx.Client, path: str
) -> None:
    response = operator.post(path)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert not served.app.is_paused()


@pytest.mark.parametrize("path", ["/workers", "/leases", "/stats", "/pause"])
def test_reading_the_cluster_needs_a_token(served: Served, path: str) -> None:
    assert served.client(None).get(path).status_code == 401
