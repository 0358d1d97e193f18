"""Firing an event makes one run of every job that listens to it, and its payload reaches
each task: as ``payload=``, as ``ctx.event``, or in a command's environment, in process and
thread mode alike; the event is stored with its runs. On both stores, with a real worker."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cronwell.app import Cronwell
from cronwell.engine.clock import ManualClock
from cronwell.engine.events import EventError
from cronwell.engine.worker import Worker
from cronwell.store.events import get_event, list_events, runs_of_event
from cronwell.store.tables import attempts, events
from tests.engine.rows import run_rows

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.engine.tasks.events"
NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
LOW_STOCK = "event inventory.low_stock"
PAYLOAD = {"sku": "A-17", "left": 3, "tags": ["x", None]}


@pytest.fixture(autouse=True)
def _project_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # a task's child process imports the tests package from here


def work(worker: Worker, clock: ManualClock) -> None:
    """Run every claimable run to its end (the worker has two slots)."""
    for _ in range(3):
        worker.tick(clock.now())
        worker.join()


def listen(app: Cronwell, name: str, task: str, path: Path, **options: Any) -> int:
    return app.schedule(
        task=f"{TASKS}:{task}", schedule=LOW_STOCK, name=name, kwargs={"path": str(path)}, **options
    )


def test_firing_runs_every_listening_job_once_and_only_those(
    app: Cronwell, worker: Worker, clock: ManualClock, tmp_path: Path
) -> None:
    first = listen(app, "reorder", "keep_nothing", tmp_path / "reorder")
    second = app.schedule(command="true", schedule={"event": "inventory.low_stock"}, name="page")
    app.schedule(command="true", schedule="event inventory.restocked", name="other")
    app.schedule(command="true", schedule="manual", name="by-hand")
    app.schedule(command="true", schedule="*/5 * * * *", name="clock")
    fired = app.trigger_event("inventory.low_stock", PAYLOAD)
    rows = run_rows(app)
    assert sorted(row.id for row in rows) == sorted(fired.run_ids)
    assert sorted(row.job_id for row in rows) == [first, second]
    assert {(row.trigger, row.status, row.event_id) for row in rows} == {
        ("event", "pending", fired.id)
    }
    work(worker, clock)
    assert [row.status for row in run_rows(app)] == ["succeeded", "succeeded"]
    assert (tmp_path / "reorder").read_text() == "ran"


def test_each_firing_makes_its_own_runs(app: Cronwell, clock: ManualClock) -> None:
    job_id = app.schedule(command="true", schedule=LOW_STOCK, name="page", overlap="allow")
    one = app.trigger_event("inventory.low_stock")
    two = app.trigger_event("inventory.low_stock")  # the same instant: a run each all the same
    clock.advance(timedelta(seconds=5))
    three = app.trigger_event("inventory.low_stock")
    assert len({one.id, two.id, three.id}) == 3
    rows = run_rows(app)
    assert [row.event_id for row in rows] == [one.id, two.id, three.id]
    assert len({row.scheduled_for for row in rows}) == 3
    assert {row.job_id for row in rows} == {job_id}


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_the_payload_reaches_a_task_as_a_keyword_and_through_the_context(
    app: Cronwell, worker: Worker, clock: ManualClock, tmp_path: Path, mode: str
) -> None:
    listen(app, "by-keyword", "keep_payload", tmp_path / "keyword", mode=mode)
    listen(app, "by-kwargs", "keep_keywords", tmp_path / "kwargs", mode=mode)
    listen(app, "by-context", "keep_event", tmp_path / "context", mode=mode)
    fired = app.trigger_event("inventory.low_stock", PAYLOAD, fired_by="stock-service")
    work(worker, clock)
    assert [row.status for row in run_rows(app)] == ["succeeded"] * 3
    assert json.loads((tmp_path / "keyword").read_text()) == PAYLOAD
    assert json.loads((tmp_path / "kwargs").read_text()) == {"payload": PAYLOAD}
    assert json.loads((tmp_path / "context").read_text()) == {
        "id": fired.id,
        "name": "inventory.low_stock",
        "payload": PAYLOAD,
        "by": "stock-service",
    }


def test_the_payload_reaches_a_command_through_its_environment(
    app: Cronwell, worker: Worker, clock: ManualClock
) -> None:
    app.schedule(
        command='printf "%s|%s|%s" "$CRONWELL_EVENT_NAME" "$CRONWELL_EVENT_ID" '
        '"$CRONWELL_EVENT_PAYLOAD"',
        schedule=LOW_STOCK,
        name="page",
    )
    fired = app.trigger_event("inventory.low_stock", PAYLOAD)
    work(worker, clock)
    name, event_id, payload = attempt_outputs(app)[0].split("|")
    assert (name, int(event_id), json.loads(payload)) == ("inventory.low_stock", fired.id, PAYLOAD)


def test_a_run_of_another_trigger_has_no_event(
    app: Cronwell, worker: Worker, clock: ManualClock, tmp_path: Path
) -> None:
    app.schedule(command='printf "[%s]" "${CRONWELL_EVENT_NAME-unset}"', name="page")
    job_id = listen(app, "by-keyword", "keep_payload", tmp_path / "keyword")
    app.trigger_now("page")
    app.trigger_now(job_id, kwargs={"path": str(tmp_path / "keyword"), "payload": "own"})
    work(worker, clock)
    assert attempt_outputs(app)[0] == "[unset]"
    assert json.loads((tmp_path / "keyword").read_text()) == "own"


def test_firings_at_the_same_instant_race_to_one_run_each(app: Cronwell) -> None:
    """Eight firings and four runs by hand at once, all at the clock's one instant: every
    firing makes one run of each listener; the forbid job starts one of them and skips the
    rest; no two runs of a job share an instant (the store's unique key settles the race)."""
    forbid = app.schedule(command="true", schedule=LOW_STOCK, name="forbid")
    allow = app.schedule(command="true", schedule=LOW_STOCK, name="allow", overlap="allow")
    app.trigger_now(allow)  # known to the app: later runs by hand take the one-statement way
    start = threading.Barrier(12, timeout=30)

    def fire(_: int) -> tuple[int, ...]:
        start.wait()
        return app.trigger_event("inventory.low_stock").run_ids

    def by_hand(_: int) -> tuple[int, ...]:
        start.wait()
        return (app.trigger_now(allow),)

    with ThreadPoolExecutor(12) as pool:
        fired = [pool.submit(fire, index) for index in range(8)]
        asked = [pool.submit(by_hand, index) for index in range(4)]
    assert all(len(future.result()) == 2 for future in fired)
    assert all(future.result() for future in asked)
    rows = run_rows(app)
    assert len(rows) == 1 + 8 * 2 + 4
    statuses = Counter((row.job_id, row.status) for row in rows if row.trigger == "event")
    assert statuses == {(forbid, "pending"): 1, (forbid, "skipped"): 7, (allow, "pending"): 8}
    for job_id in (forbid, allow):
        instants = [row.scheduled_for for row in rows if row.job_id == job_id]
        assert len(set(instants)) == len(instants)


@pytest.mark.parametrize("payload", ["a\x00b", [1, 2.5, True, None], "é ✓", 0])
def test_any_json_payload_is_kept_as_given(app: Cronwell, payload: Any) -> None:
    fired = app.trigger_event("inventory.low_stock", payload)
    with app.database.transaction(write=False) as connection:
        stored = get_event(connection, fired.id)
    assert stored is not None and stored.payload == payload


def test_the_stored_event_lists_its_runs(app: Cronwell) -> None:
    app.schedule(command="true", schedule=LOW_STOCK, name="page")
    app.schedule(command="true", schedule=LOW_STOCK, name="reorder")
    fired = app.trigger_event("inventory.low_stock", PAYLOAD, fired_by="ops")
    with app.database.transaction(write=False) as connection:
        stored = get_event(connection, fired.id)
        made = runs_of_event(connection, fired.id)
    assert stored is not None
    assert (stored.name, stored.payload, stored.fired_by) == ("inventory.low_stock", PAYLOAD, "ops")
    assert (stored.fired_at, stored.runs) == (NOW, 2)
    assert [(run.id, run.job, run.trigger) for run in made] == [
        (fired.run_ids[0], "page", "event"),
        (fired.run_ids[1], "reorder", "event"),
    ]


def test_an_event_nobody_listens_to_is_stored_with_no_runs(app: Cronwell) -> None:
    app.schedule(command="true", schedule=LOW_STOCK, name="page")
    fired = app.trigger_event("inventory.restocked", {"sku": "A-17"})
    assert fired.run_ids == ()
    assert run_rows(app) == []
    with app.database.transaction(write=False) as connection:
        (stored,) = list_events(connection)
    assert (stored.id, stored.name, stored.runs) == (fired.id, "inventory.restocked", 0)


def test_events_are_listed_newest_first_and_by_name(app: Cronwell, clock: ManualClock) -> None:
    app.schedule(command="true", schedule=LOW_STOCK, name="page", overlap="allow")
    low = app.trigger_event("inventory.low_stock")
    clock.advance(timedelta(minutes=1))
    other = app.trigger_event("inventory.restocked")
    clock.advance(timedelta(minutes=1))
    again = app.trigger_event("inventory.low_stock")
    with app.database.transaction(write=False) as connection:
        every = list_events(connection)
        named = list_events(connection, name="inventory.low_stock", limit=1)
    assert [(row.id, row.runs) for row in every] == [(again.id, 1), (other.id, 0), (low.id, 1)]
    assert [row.id for row in named] == [again.id]


def test_overlap_forbid_skips_the_run_of_a_job_still_running(
    app: Cronwell, worker: Worker, clock: ManualClock
) -> None:
    app.schedule(command="true", schedule=LOW_STOCK, name="page", overlap="forbid")
    first = app.trigger_event("inventory.low_stock")
    second = app.trigger_event("inventory.low_stock")
    assert [(row.status, row.reason) for row in run_rows(app)] == [
        ("pending", None),
        ("skipped", "overlap"),
    ]
    assert [row.event_id for row in run_rows(app)] == [first.id, second.id]
    work(worker, clock)
    app.trigger_event("inventory.low_stock")  # the first ended: the next one runs
    assert [row.status for row in run_rows(app)] == ["succeeded", "skipped", "pending"]


def test_overlap_queue_and_replace_decide_event_runs_as_scheduled_ones(app: Cronwell) -> None:
    app.schedule(command="true", schedule=LOW_STOCK, name="sync", overlap="queue")
    app.schedule(command="true", schedule=LOW_STOCK, name="refresh", overlap="replace")
    for _ in range(3):
        app.trigger_event("inventory.low_stock")
    by_job: dict[int, list[tuple[str, str | None]]] = {}
    for row in run_rows(app):
        by_job.setdefault(row.job_id, []).append((row.status, row.reason))
    sync, refresh = by_job.values()
    assert sync == [("pending", None), ("waiting", None), ("skipped", "overlap-queue-full")]
    replaced = ("cancelled", "replaced by a newer run")
    assert refresh == [replaced, replaced, ("pending", None)]


def test_a_paused_or_deleted_job_gets_no_run(app: Cronwell) -> None:
    app.schedule(command="true", schedule=LOW_STOCK, name="paused", enabled=False)
    app.schedule(command="true", schedule=LOW_STOCK, name="gone")
    app.delete_schedule("gone")
    listening = app.schedule(command="true", schedule=LOW_STOCK, name="live")
    fired = app.trigger_event("inventory.low_stock")
    assert [row.job_id for row in run_rows(app)] == [listening]
    assert len(fired.run_ids) == 1
    app.resume_schedule("paused")
    assert len(app.trigger_event("inventory.low_stock").run_ids) == 2


def test_a_job_paused_until_an_instant_gets_runs_from_then_on(
    app: Cronwell, clock: ManualClock
) -> None:
    job_id = app.schedule(command="true", schedule=LOW_STOCK, name="page", overlap="allow")
    app.pause_until(job_id, NOW + timedelta(hours=1))
    assert app.trigger_event("inventory.low_stock").run_ids == ()
    clock.advance(timedelta(hours=1))
    assert len(app.trigger_event("inventory.low_stock").run_ids) == 1


def test_while_the_scheduler_is_paused_the_event_is_stored_with_no_runs(app: Cronwell) -> None:
    app.schedule(command="true", schedule=LOW_STOCK, name="page")
    app.pause()
    fired = app.trigger_event("inventory.low_stock", PAYLOAD)
    assert (fired.run_ids, fired.is_paused, run_rows(app)) == ((), True, [])
    app.resume()
    assert len(app.trigger_event("inventory.low_stock").run_ids) == 1


def test_a_retried_attempt_gets_the_payload_again(
    app: Cronwell, worker: Worker, clock: ManualClock, tmp_path: Path
) -> None:
    marker = tmp_path / "failed-once"
    app.schedule(
        command=f'test -f {marker} || {{ touch {marker}; exit 1; }}; printf "%s" '
        '"$CRONWELL_EVENT_PAYLOAD"',
        schedule=LOW_STOCK,
        name="flaky",
        retry={"strategy": "fixed", "max_attempts": 2, "initial_delay": "1m", "jitter": 0},
    )
    app.trigger_event("inventory.low_stock", PAYLOAD)
    work(worker, clock)
    clock.advance(timedelta(minutes=1))
    work(worker, clock)
    (row,) = run_rows(app)
    assert (row.status, row.attempts) == ("succeeded", 2)
    assert json.loads(attempt_outputs(app)[1]) == PAYLOAD


def test_a_run_retried_by_hand_keeps_its_event(
    app: Cronwell, worker: Worker, clock: ManualClock, tmp_path: Path
) -> None:
    listen(app, "by-context", "keep_event", tmp_path / "context", retry={"max_attempts": 1})
    fired = app.trigger_event("inventory.low_stock", PAYLOAD)
    work(worker, clock)
    (tmp_path / "context").unlink()
    (run_id,) = fired.run_ids
    again = app.retry_run(run_id)
    work(worker, clock)
    rows = run_rows(app)
    assert [(row.id, row.trigger, row.event_id) for row in rows][-1] == (again, "retry", fired.id)
    assert json.loads((tmp_path / "context").read_text())["payload"] == PAYLOAD


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("inventory low", None, "name: 'inventory low' is not an event name"),
        ("", None, "name: "),
        ("x" * 201, None, "name: has 201 characters; at most 200"),
        (17, None, "name: 17 is not an event name"),
        ("inventory.low_stock", {"at": datetime(2026, 1, 1)}, "payload: is not JSON"),
        ("inventory.low_stock", float("nan"), "payload: is not JSON"),
        ("inventory.low_stock", "x" * 70_000, "payload: 70002 bytes of JSON; at most 65536"),
    ],
)
def test_a_bad_event_is_refused_and_nothing_is_stored(
    app: Cronwell, name: str, payload: Any, message: str
) -> None:
    app.schedule(command="true", schedule=LOW_STOCK, name="page")
    with pytest.raises(EventError, match=message):
        app.trigger_event(name, payload)
    with app.database.transaction(write=False) as connection:
        assert connection.execute(select(func.count()).select_from(events)).scalar_one() == 0
    assert run_rows(app) == []


def attempt_outputs(app: Cronwell) -> list[str]:
    with app.database.transaction(write=False) as connection:
        query = select(attempts.c.output).order_by(attempts.c.run_id, attempts.c.number)
        return list(connection.execute(query).scalars())
