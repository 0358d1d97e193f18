"""The operator's actions on one job over HTTP (pause, resume, trigger, skip the next due
time, backfill, move the cursor), and a job's next due times and status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from cronwell.engine.clock import ManualClock
from cronwell.store.history import get_run
from tests.e2e.api.conftest import Served
from tests.e2e.api.jobs import define, refused

# The clock stands at 2026-03-02T09:00Z; "nightly" is due at 02:00 UTC every day.
TOMORROW = "2026-03-03T02:00:00Z"


@pytest.fixture
def nightly(operator: httpx.Client) -> dict[str, Any]:
    return define(operator)


def test_a_pause_stops_the_job_and_a_resume_starts_it_again(
    operator: httpx.Client, nightly: dict[str, Any]
) -> None:
    paused = operator.post("/jobs/nightly/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["is_enabled"] is False
    resumed = operator.post("/jobs/nightly/resume", json={"catch_up": False})
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["is_enabled"], resumed.json()["next_due_at"]) == (True, TOMORROW)


def test_a_pause_until_an_instant_lets_the_job_fire_again_from_then(
    operator: httpx.Client, nightly: dict[str, Any]
) -> None:
    response = operator.post("/jobs/nightly/pause", json={"until": "2026-03-05T12:00:00+01:00"})
    assert response.status_code == 200, response.text
    assert response.json()["paused_until"] == "2026-03-05T11:00:00Z"
    assert response.json()["next_due_at"] == "2026-03-06T02:00:00Z"


def test_a_resume_catching_up_hands_the_missed_due_times_to_the_misfire_policy(
    operator: httpx.Client, nightly: dict[str, Any], clock: ManualClock
) -> None:
    operator.post("/jobs/nightly/pause")
    clock.advance(timedelta(days=2))
    response = operator.post("/jobs/nightly/resume", json={"catch_up": True})
    assert response.status_code == 200, response.text
    assert response.json()["is_enabled"] is True


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("pause", {"until": "2026-03-05T12:00:00"}, "until"),  # no offset: which zone?
        ("pause", {"until": "2026-03-01T12:00:00Z"}, "until"),  # in the past
        ("pause", {"until": "0001-01-01T00:00:00Z"}, "until"),
        ("resume", {"catch_up": "perhaps"}, "catch_up"),
        ("trigger", {"args": "not a list"}, "args"),
        ("trigger", {"kwargs": [1]}, "kwargs"),
        ("backfill", {"from": "2026-03-01T00:00:00Z"}, "to"),
        ("backfill", {"from": "2026-03-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}, "to"),
        ("backfill", {"from": "2026-02-01T00:00:00Z", "to": "2026-03-05T00:00:00Z"}, "to"),
        (
            "backfill",
            {"from": "2026-02-01T00:00:00Z", "to": "2026-03-01T00:00:00Z", "overlap": "x"},
            "overlap",
        ),
        ("move-cursor", {}, "to"),
        ("move-cursor", {"to": "tomorrow"}, "to"),
    ],
)
def test_a_bad_action_answers_422_naming_the_field(
    operator: httpx.Client, nightly: dict[str, Any], path: str, body: Any, field: str
) -> None:
    refused(operator.post(f"/jobs/nightly/{path}", json=body), 422, "invalid", field)
    assert operator.get("/jobs/nightly").json()["is_enabled"] is True


def test_a_trigger_makes_a_run_now_with_the_arguments_given(
    served: Served, operator: httpx.Client, nightly: dict[str, Any]
) -> None:
    response = operator.post("/jobs/nightly/trigger", json={"kwargs": {"limit": 7}})
    assert response.status_code == 200, response.text
    (run_id,) = response.json()["run_ids"]
    with served.app.database.transaction(write=False) as connection:
        run = get_run(connection, run_id)
    assert run is not None
    assert (run.trigger, run.kwargs) == ("manual", {"limit": 7})
    plain = operator.post("/jobs/nightly/trigger")
    assert plain.status_code == 200
    assert plain.json()["run_ids"] != [run_id]


def test_skipping_the_next_due_time_moves_the_job_to_the_one_after(
    operator: httpx.Client, nightly: dict[str, Any]
) -> None:
    response = operator.post("/jobs/nightly/skip-next")
    assert response.status_code == 200, response.text
    assert response.json() == {"skipped": TOMORROW, "next_due_at": "2026-03-04T02:00:00Z"}


def test_skipping_a_paused_jobs_next_due_time_answers_409(
    operator: httpx.Client, nightly: dict[str, Any]
) -> None:
    operator.post("/jobs/nightly/pause")
    refused(operator.post("/jobs/nightly/skip-next"), 409, "conflict", None)


def test_a_backfill_makes_a_run_per_missed_due_time_and_a_dry_run_makes_none(
    operator: httpx.Client, nightly: dict[str, Any]
) -> None:
    span = {"from": "2026-02-27T00:00:00Z", "to": "2026-03-01T23:00:00Z"}
    dry = operator.post("/jobs/nightly/backfill", json={**span, "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["due_times"] == [
        "2026-02-27T02:00:00Z",
        "2026-02-28T02:00:00Z",
        "2026-03-01T02:00:00Z",
    ]
    assert (dry.json()["run_ids"], dry.json()["is_dry_run"]) == ([], True)
    done = operator.post("/jobs/nightly/backfill", json={**span, "overlap": "allow"}).json()
    assert (done["made"], len(done["run_ids"]), done["existing"]) == (3, 3, 0)
    assert (done["from"], done["to"], done["overlap"]) == (span["from"], span["to"], "allow")
    again = operator.post("/jobs/nightly/backfill", json=span).json()
    assert (again["made"], again["existing"]) == (0, 3)


def test_moving_the_cursor_ahead_skips_the_due_times_before_it(
    operator: httpx.Client, nightly: dict[str, Any]
) -> None:
    response = operator.post("/jobs/nightly/move-cursor", json={"to": "2026-03-10T00:00:00Z"})
    assert response.status_code == 200, response.text
    assert response.json() == {"next_due_at": "2026-03-10T02:00:00Z"}
    assert operator.get("/jobs/nightly").json()["next_due_at"] == "2026-03-10T02:00:00Z"


def test_the_next_due_times_are_listed_from_now(
    viewer: httpx.Client, nightly: dict[str, Any]
) -> None:
    response = viewer.get("/jobs/nightly/next", params={"count": 3})
    assert response.status_code == 200, response.text
    assert response.json()["times"] == [
        TOMORROW,
        "2026-03-04T02:00:00Z",
        "2026-03-05T02:00:00Z",
    ]
    assert len(viewer.get("/jobs/nightly/next").json()["times"]) == 5


@pytest.mark.parametrize("count", [0, 101, "many"])
def test_a_bad_count_answers_422(viewer: httpx.Client, nightly: dict[str, Any], count: Any) -> None:
    refused(viewer.get("/jobs/nightly/next", params={"count": count}), 422, "invalid", "count")


def test_the_status_has_the_seeds_shape(viewer: httpx.Client, nightly: dict[str, Any]) -> None:
    response = viewer.get("/jobs/nightly/status")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "last_run": None,
        "last_result": None,
        "next_run": TOMORROW,
        "run_count": 0,
        "success_count": 0,
        "error_count": 0,
        "missed_count": 0,
        "average_duration": None,
    }


ACTIONS = [
    ("POST", "pause", None),
    ("POST", "resume", None),
    ("POST", "trigger", None),
    ("POST", "skip-next", None),
    ("POST", "backfill", {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T05:00:00Z"}),
    ("POST", "move-cursor", {"to": "2026-03-10T00:00:00Z"}),
    ("GET", "next", None),
    ("GET", "status", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ACTIONS)
def test_an_action_on_an_unknown_job_answers_404(
    operator: httpx.Client, method: str, path: str, body: Any
) -> None:
    response = operator.request(method, f"/jobs/nothing/{path}", json=body)
    refused(response, 404, "not_found", None)


@pytest.mark.parametrize(("method", "path", "body"), ACTIONS[:6])
def test_a_viewer_may_not_act_on_a_job(
    viewer: httpx.Client, nightly: dict[str, Any], method: str, path: str, body: Any
) -> None:
    refused(viewer.request(method, f"/jobs/nightly/{path}", json=body), 403, "forbidden", None)
    assert viewer.get("/jobs/nightly").json() == nightly


@pytest.mark.parametrize("path", ["next", "status"])
def test_reading_a_jobs_times_needs_a_token(served: Served, path: str) -> None:
    assert served.client(None).get(f"/jobs/nightly/{path}").status_code == 401
