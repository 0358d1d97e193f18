"""Runs and the dead-letter queue over HTTP: lists with filters, a run with its attempts,
cancel, retry, and recovering a job a dead run disabled."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from tests.e2e.api.conftest import NOW, Served

ONCE = {"max_attempts": 1}
TOO_BIG = 2**63  # one past the largest 64-bit id


def _runs_of_two_jobs(app: Cronwell, clock: ManualClock) -> dict[str, int]:
    """``report`` run by hand at NOW, NOW+1h and NOW+2h (the last with kwargs), ``sync`` once
    at NOW+1h and cancelled; returns the ids by a word for each."""
    app.schedule("report", name="report")
    app.schedule("sync", name="sync")
    first = app.trigger_now("report")
    clock.advance(timedelta(hours=1))
    second = app.trigger_now("report")
    synced = app.trigger_now("sync")
    app.cancel_run(synced)
    clock.advance(timedelta(hours=1))
    third = app.trigger_now("report", kwargs={"limit": 3})
    return {"first": first, "second": second, "third": third, "synced": synced}


def _ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [run["id"] for run in response.json()["items"]]


def test_runs_are_listed_newest_first_and_filtered(
    served: Served, viewer: httpx.Client, clock: ManualClock
) -> None:
    ids = _runs_of_two_jobs(served.app, clock)
    everything = viewer.get("/runs")
    assert _ids(everything) == [ids["third"], ids["synced"], ids["second"], ids["first"]]
    assert everything.json()["total"] == 4
    assert _ids(viewer.get("/runs", params={"job": "sync"})) == [ids["synced"]]
    pending = viewer.get("/runs", params={"status": "pending", "job": "report"})
    assert _ids(pending) == [ids["third"], ids["second"], ids["first"]]
    both = viewer.get("/runs", params=[("status", "cancelled"), ("status", "succeeded")])
    assert _ids(both) == [ids["synced"]]
    since, until = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    span = {"since": since.isoformat(), "until": until.isoformat()}
    assert _ids(viewer.get("/runs", params=span)) == [ids["synced"], ids["second"]]
    assert _ids(viewer.get("/runs", params={"trigger": "retry"})) == []


def test_runs_come_a_page_at_a_time_with_the_total(
    served: Served, viewer: httpx.Client, clock: ManualClock
) -> None:
    ids = _runs_of_two_jobs(served.app, clock)
    page = viewer.get("/runs", params={"limit": 2, "offset": 1})
    assert _ids(page) == [ids["synced"], ids["second"]]
    assert page.json()["total"] == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status.0"),
        ({"trigger": "whim"}, "trigger"),
        ({"since": "2026-03-02T09:00:00"}, "since"),  # no offset: which 09:00?
        ({"until": "0001-01-01T00:00:00+01:00"}, "until"),  # before year 1 in UTC
        ({"since": "1772442000"}, "since"),  # seconds since 1970: not what the schema says
        ({"job": "a\x00b"}, "job"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_a_bad_filter_answers_422_naming_it(
    viewer: httpx.Client, params: dict[str, object], field: str
) -> None:
    response = viewer.get("/runs", params=params)  # type: ignore[arg-type]
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == ("invalid", field)


def test_a_run_shows_its_attempts_with_exit_code_output_and_worker(
    served: Served, viewer: httpx.Client
) -> None:
    served.app.schedule(command="echo failing; exit 3", name="broken", retry=ONCE)
    executed = served.app.execute_now("broken")
    assert executed.attempt is not None
    response = viewer.get(f"/runs/{executed.run.id}")
    assert response.status_code == 200, response.text
    shown = response.json()
    assert (shown["job"], shown["status"], shown["trigger"]) == ("broken", "dead", "exec")
    assert (shown["attempts"], shown["max_attempts"], shown["kwargs"]) == (1, 1, None)
    (attempt,) = shown["attempt_details"]
    assert (attempt["number"], attempt["status"], attempt["exit_code"]) == (1, "failed", 3)
    assert attempt["output"] == "failing\n"
    assert attempt["worker_id"] == executed.attempt.worker_id
    assert attempt["duration_seconds"] == 0.0  # the simulated clock stood still
    assert attempt["started_at"] == "2026-03-02T09:00:00Z"


def test_a_run_shows_the_kwargs_it_was_asked_with(served: Served, viewer: httpx.Client) -> None:
    served.app.schedule("report", name="report")
    run_id = served.app.trigger_now("report", kwargs={"limit": 3})
    shown = viewer.get(f"/runs/{run_id}").json()
    assert (shown["status"], shown["trigger"], shown["kwargs"]) == (
        "pending",
        "manual",
        {"limit": 3},
    )
    assert shown["attempt_details"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/runs/{}"), ("POST", "/runs/{}/cancel"), ("POST", "/runs/{}/retry")],
)
def test_an_unknown_run_answers_404_and_an_impossible_id_422(
    operator: httpx.Client, method: str, path: str
) -> None:
    missing = operator.request(method, path.format(12345))
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    for impossible in (0, TOO_BIG, "x"):
        refused = operator.request(method, path.format(impossible))
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "run_id"


def test_cancelling_a_pending_run_ends_it_and_again_answers_409(
    served: Served, operator: httpx.Client
) -> None:
    served.app.schedule("report", name="report")
    run_id = served.app.trigger_now("report")
    response = operator.post(f"/runs/{run_id}/cancel")
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["reason"]) == (
        "cancelled",
        "cancelled by hand",
    )
    again = operator.post(f"/runs/{run_id}/cancel")
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_retrying_a_run_makes_a_new_one_with_its_kwargs(
    served: Served, operator: httpx.Client
) -> None:
    served.app.schedule("report", name="report")
    run_id = served.app.trigger_now("report", kwargs={"limit": 7})
    served.app.cancel_run(run_id)
    response = operator.post(f"/runs/{run_id}/retry")
    assert response.status_code == 200, response.text
    new_id = response.json()["run_id"]
    assert new_id != run_id
    made = served.app.get_run_detail(new_id)
    assert (made.run.trigger, made.run.status, made.kwargs) == ("retry", "pending", {"limit": 7})


def _dead_and_disabled(app: Cronwell) -> int:
    app.schedule(command="exit 1", name="broken", retry=ONCE, on_dead="disable")
    return app.execute_now("broken").run.id


def test_the_dlq_lists_dead_runs_and_the_jobs_they_disabled(
    served: Served, viewer: httpx.Client
) -> None:
    served.app.schedule("report", name="report")
    served.app.trigger_now("report")  # pending: not in the queue
    dead_id = _dead_and_disabled(served.app)
    response = viewer.get("/dlq")
    assert response.status_code == 200, response.text
    assert ([run["id"] for run in response.json()["items"]], response.json()["total"]) == (
        [dead_id],
        1,
    )
    (job,) = response.json()["disabled_jobs"]
    assert (job["name"], job["is_enabled"]) == ("broken", False)
    assert job["dead_reason"]


def test_recovering_enables_the_job_and_retries_its_dead_run(
    served: Served, operator: httpx.Client
) -> None:
    dead_id = _dead_and_disabled(served.app)
    response = operator.post("/dlq/broken/recover", json={"retry": True})
    assert response.status_code == 200, response.text
    recovered = response.json()
    assert (recovered["job"], recovered["is_recovered"]) == ("broken", True)
    assert recovered["run_id"] not in (None, dead_id)
    assert served.app.get_schedule("broken").is_enabled
    again = operator.post("/dlq/broken/recover")  # no body: no retry
    assert again.json() == {"job": "broken", "is_recovered": False, "run_id": None}


def test_recovering_refuses_a_bad_body_and_an_unknown_job(
    served: Served, operator: httpx.Client
) -> None:
    _dead_and_disabled(served.app)
    bad = operator.post("/dlq/broken/recover", json={"retry": "maybe"})
    assert bad.status_code == 422
    assert (bad.json()["code"], bad.json()["field"]) == ("invalid", "retry")
    assert not served.app.get_schedule("broken").is_enabled  # refused: nothing changed
    missing = operator.post("/dlq/nobody/recover", json={"retry": True})
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/runs/1/cancel"),
        ("POST", "/runs/1/retry"),
        ("POST", "/dlq/broken/recover"),
    ],
)
def test_a_viewer_may_not_operate_runs(viewer: httpx.Client, method: str, path: str) -> None:
    response = viewer.request(method, path, json={})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/runs", "/runs/1", "/dlq"])
def test_reading_runs_needs_a_token(served: Served, path: str) -> None:
    assert served.client(None).get(path).status_code == 401
