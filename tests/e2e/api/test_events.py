"""Events over HTTP: firing one makes runs of the jobs listening to it; events are listed
with filters and shown with their runs."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.events import PAYLOAD_LIMIT
from tests.e2e.api.conftest import NOW, Served

TOO_BIG = 2**63


def _listeners(app: Cronwell) -> None:
    app.schedule("report", "event stock.low", name="restock")
    app.schedule("sync", "event stock.high", name="clearance")


def test_firing_an_event_makes_a_run_of_each_job_listening(
    served: Served, operator: httpx.Client
) -> None:
    _listeners(served.app)
    response = operator.post("/events/stock.low", json={"payload": {"sku": "A-17"}})
    assert response.status_code == 201, response.text
    fired = response.json()
    assert (fired["name"], fired["payload"], fired["fired_by"]) == (
        "stock.low",
        {"sku": "A-17"},
        "operator",
    )
    assert (fired["is_paused"], fired["run_count"], fired["fired_at"]) == (
        False,
        1,
        "2026-03-02T09:00:00Z",
    )
    (run,) = fired["runs"]
    assert (run["job"], run["trigger"], run["status"]) == ("restock", "event", "pending")
    assert served.app.get_run_detail(run["id"]).event_id == fired["id"]


def test_an_event_without_a_body_or_listeners_is_stored_with_no_runs(
    served: Served, operator: httpx.Client
) -> None:
    response = operator.post("/events/nobody.listens")
    assert response.status_code == 201, response.text
    assert (response.json()["payload"], response.json()["runs"]) == (None, [])
    assert served.app.find_events().total == 1


def test_an_event_fired_while_paused_makes_no_runs(served: Served, operator: httpx.Client) -> None:
    _listeners(served.app)
    served.app.pause()
    fired = operator.post("/events/stock.low", json={"payload": 1}).json()
    assert (fired["is_paused"], fired["runs"]) == (True, [])


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("stock low", '{"payload": 1}', "name"),
        ("stock.low", '{"payload": NaN}', "payload"),
        ("stock.low", '{"payload": "\\ud800"}', "payload"),
        ("stock.low", '{"payload": "' + "x" * PAYLOAD_LIMIT + '"}', "payload"),
        ("stock.low", '{"payload": 1', None),  # not JSON at all
    ],
)
def test_a_bad_event_answers_422_and_stores_nothing(
    served: Served, operator: httpx.Client, name: str, body: str, field: str | None
) -> None:
    _listeners(served.app)
    headers = {"Content-Type": "application/json"}
    response = operator.post(f"/events/{name}", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid"
    if field is not None:
        assert response.json()["field"] == field
    assert served.app.find_events().total == 0
    assert served.app.find_runs().total == 0


def _three_events(app: Cronwell, clock: ManualClock) -> list[int]:
    fired = [app.trigger_event("stock.low", {"n": 1}).id]
    clock.advance(timedelta(hours=1))
    fired.append(app.trigger_event("stock.high").id)
    clock.advance(timedelta(hours=1))
    fired.append(app.trigger_event("stock.low", {"n": 2}).id)
    return fired


def _ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [event["id"] for event in response.json()["items"]]


def test_events_are_listed_newest_first_and_filtered(
    served: Served, viewer: httpx.Client, clock: ManualClock
) -> None:
    _listeners(served.app)
    first, second, third = _three_events(served.app, clock)
    everything = viewer.get("/events")
    assert (_ids(everything), everything.json()["total"]) == ([third, second, first], 3)
    assert everything.json()["items"][0]["run_count"] == 1
    assert _ids(viewer.get("/events", params={"name": "stock.low"})) == [third, first]
    span = {"since": NOW.isoformat(), "until": (NOW + timedelta(hours=2)).isoformat()}
    assert _ids(viewer.get("/events", params=span)) == [second, first]
    page = viewer.get("/events", params={"limit": 1, "offset": 1})
    assert (_ids(page), page.json()["total"]) == ([second], 3)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"since": "2026-03-02T09:00"}, "since"), ({"name": ""}, "name"), ({"limit": 0}, "limit")],
)
def test_a_bad_event_filter_answers_422_naming_it(
    viewer: httpx.Client, params: dict[str, object], field: str
) -> None:
    response = viewer.get("/events", params=params)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_an_event_is_shown_with_its_runs(
    served: Served, viewer: httpx.Client, clock: ManualClock
) -> None:
    _listeners(served.app)
    first, _, _ = _three_events(served.app, clock)
    response = viewer.get(f"/events/{first}")
    assert response.status_code == 200, response.text
    shown = response.json()
    assert (shown["name"], shown["payload"], shown["run_count"]) == ("stock.low", {"n": 1}, 1)
    assert [run["job"] for run in shown["runs"]] == ["restock"]


def test_an_unknown_event_answers_404_and_an_impossible_id_422(viewer: httpx.Client) -> None:
    missing = viewer.get("/events/999")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    for impossible in (0, TOO_BIG):
        refused = viewer.get(f"/events/{impossible}")
        assert (refused.status_code, refused.json()["field"]) == (422, "event_id")


def test_a_viewer_may_not_fire_events(served: Served, viewer: httpx.Client) -> None:
    response = viewer.post("/events/stock.low", json={"payload": 1})
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert served.app.find_events().total == 0


@pytest.mark.parametrize("path", ["/events", "/events/1"])
def test_reading_events_needs_a_token(served: Served, path: str) -> None:
    assert served.client(None).get(path).status_code == 401
