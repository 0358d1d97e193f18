"""Every change through the facade writes one audit record in its own transaction, by the
current actor, with the object before and after and secrets masked; a refused change writes
none. On both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cronwell.app import (
    Cronwell,
    JobExists,
    JobNotFound,
    LoginFailed,
    RunEnded,
    VersionConflict,
)
from cronwell.audit import Actor, acting_as
from cronwell.auth import AuthError
from cronwell.engine.clock import ManualClock
from cronwell.engine.events import EventError
from cronwell.engine.worker import Worker
from cronwell.policies.controls import ControlError
from cronwell.policies.secrets import SecretKeys
from cronwell.spec import JobSpec, SpecError
from cronwell.store.audit import AuditRecord
from cronwell.templates import Template

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
API_USER = Actor(name="ana", role="admin", via="api")


def records(app: Cronwell) -> list[AuditRecord]:
    """Every record, oldest first."""
    return app.list_audit(limit=1000)[::-1]


def summary(app: Cronwell) -> list[tuple[str, str, str, str]]:
    return [(r.actor, r.action, r.object_type, r.object_id) for r in records(app)]


def test_creating_a_job_is_recorded_by_the_actor_with_its_masked_definition(
    app: Cronwell,
) -> None:
    with acting_as(API_USER):
        app.schedule(command="true", name="sync", kwargs={"api_key": "k", "n": 1})
    (made,) = records(app)
    assert (made.actor, made.role, made.via) == ("ana", "admin", "api")
    assert (made.action, made.object_type, made.object_id) == ("job.create", "job", "sync")
    assert (made.at, made.before) == (NOW, None)
    assert made.after["kwargs"] == {"api_key": "***", "n": 1}
    assert made.after["schedule"] == "manual"
    assert app.get_schedule("sync").spec.kwargs["api_key"] == "k", "the job keeps its secret"
    assert app.list_versions("sync")[0].author == "ana", "versions are by the actor too"


def test_refused_changes_write_no_record(app: Cronwell) -> None:
    app.schedule(command="true", name="sync", schedule="@hourly")
    with pytest.raises(SpecError):
        app.schedule(command="true", name="bad", schedule="61 * * * *")
    with pytest.raises(JobExists):
        app.schedule(command="true", name="sync")
    with pytest.raises(VersionConflict):
        app.update_schedule("sync", schedule="@daily", expected_version=7)
    with pytest.raises(SpecError):
        app.update_schedule("sync", schedule="nonsense")
    with pytest.raises(ControlError):
        app.pause_until("sync", NOW - timedelta(hours=1))
    with pytest.raises(EventError):
        app.trigger_event("no spaces allowed", {})
    with pytest.raises(AuthError):
        app.add_user("ana", "emperor")
    with pytest.raises(SpecError):
        app.apply([_job("fine", "true"), JobSpec.parse({"name": "ghost", "task": "no.such:task"})])
    with pytest.raises(JobNotFound):
        app.delete_schedule("nobody")
    run_id = app.trigger_now("sync")
    app.cancel_run(run_id)
    with pytest.raises(RunEnded):
        app.cancel_run(run_id)
    app.update_schedule("sync", schedule="@hourly")  # no change: no version, no record
    assert [r.action for r in records(app)] == ["job.create", "job.trigger", "run.cancel"]


def test_update_rollback_and_delete_record_the_definition_before_and_after(
    app: Cronwell,
) -> None:
    app.schedule(command="true", name="sync", schedule="@hourly")
    app.update_schedule("sync", schedule="@daily", env={"DB_PASSWORD": "p"})
    app.rollback("sync", 1)
    app.delete_schedule("sync")
    _, update, rollback, delete = records(app)
    assert (update.action, update.before["schedule"], update.after["schedule"]) == (
        "job.update",
        "@hourly",
        "@daily",
    )
    assert update.after["env"] == {"DB_PASSWORD": "***"}
    assert (rollback.action, rollback.before["schedule"], rollback.after["schedule"]) == (
        "job.rollback",
        "@daily",
        "@hourly",
    )
    assert (delete.action, delete.before["schedule"], delete.after) == (
        "job.delete",
        "@hourly",
        None,
    )


def _job(name: str, command: str) -> JobSpec:
    return JobSpec.parse({"name": name, "command": command})


def test_apply_records_each_job_it_creates_updates_and_deletes_and_a_dry_run_none(
    app: Cronwell,
) -> None:
    app.apply([_job("a", "true"), _job("b", "true")])
    second = [_job("a", "false"), _job("c", "true")]
    app.apply(second, prune=True, dry_run=True)
    assert len(records(app)) == 2
    app.apply(second, prune=True)
    assert summary(app)[2:] == [
        (records(app)[0].actor, "job.create", "job", "c"),
        (records(app)[0].actor, "job.update", "job", "a"),
        (records(app)[0].actor, "job.delete", "job", "b"),
    ]
    update = records(app)[3]
    assert (update.before["command"], update.after["command"]) == ("true", "false")


def test_pauses_and_resumes_of_a_job_and_of_the_scheduler_are_recorded(app: Cronwell) -> None:
    app.schedule(command="true", name="sync", schedule="@hourly")
    app.pause_schedule("sync")
    app.resume_schedule("sync")
    app.pause_schedule("sync", until=NOW + timedelta(days=1))
    app.resume_schedule("sync", catch_up=True)
    app.pause()
    app.resume()
    found = records(app)[1:]
    assert [(r.action, r.object_type, r.object_id) for r in found] == [
        ("job.pause", "job", "sync"),
        ("job.resume", "job", "sync"),
        ("job.pause", "job", "sync"),
        ("job.resume", "job", "sync"),
        ("scheduler.pause", "scheduler", "scheduler"),
        ("scheduler.resume", "scheduler", "scheduler"),
    ]
    assert (found[0].before["is_enabled"], found[0].after["is_enabled"]) == (True, False)
    assert found[2].after["paused_until"] == (NOW + timedelta(days=1)).isoformat()
    assert (found[4].before, found[4].after) == ({"is_paused": False}, {"is_paused": True})
    assert (found[5].before, found[5].after) == ({"is_paused": True}, {"is_paused": False})


def test_triggers_record_the_runs_they_made_with_masked_arguments(app: Cronwell) -> None:
    app.schedule(command="true", name="sync")
    first = app.trigger_now("sync", kwargs={"token": "t", "n": 1})
    again = app.trigger_now("sync")  # the second takes the way of a job asked of before
    many = app.trigger_many("sync", 2)
    trigger, cached, bulk = records(app)[1:]
    assert (trigger.action, trigger.object_id, trigger.after) == (
        "job.trigger",
        "sync",
        {"run_ids": [first]},
    )
    assert trigger.detail == {"args": None, "kwargs": {"token": "***", "n": 1}}
    assert cached.after == {"run_ids": [again]}
    assert (bulk.after, bulk.detail["count"]) == ({"run_ids": many}, 2)


def test_operator_controls_record_the_cursor_before_and_after(
    app: Cronwell, clock: ManualClock
) -> None:
    app.schedule(command="true", name="sync", schedule="@hourly")
    skipped = app.skip_next("sync")
    app.move_cursor("sync", to=NOW + timedelta(days=1, minutes=30))
    done = app.backfill("sync", NOW - timedelta(hours=2), NOW - timedelta(minutes=30))
    app.backfill("sync", NOW - timedelta(hours=5), NOW, dry_run=True)
    skip, move, backfill = records(app)[1:]
    assert skip.action == "job.skip_next"
    assert skip.before["next_due_at"] == skipped.isoformat()
    assert skip.after["next_due_at"] == (skipped + timedelta(hours=1)).isoformat()
    assert move.action == "job.move_cursor"
    assert move.after["next_due_at"] == (NOW + timedelta(days=1, minutes=30)).isoformat()
    assert backfill.action == "job.backfill"
    assert backfill.after["run_ids"] == list(done.run_ids) and len(done.run_ids) == 2


def test_cancel_retry_and_recover_are_recorded_on_the_run(
    app: Cronwell, clock: ManualClock
) -> None:
    app.schedule(command="exit 1", name="doomed", retry={"strategy": "none"}, on_dead="disable")
    dead = app.trigger_now("doomed")
    worker = Worker(app.database, clock)
    worker.tick()
    worker.join()
    worker.close()
    retried = app.retry_run(dead)
    app.cancel_run(retried)
    recovered = app.recover("doomed", retry=True)
    retry, cancel, enable, recover = records(app)[2:]
    assert (retry.action, retry.object_type, retry.object_id) == ("run.retry", "run", str(dead))
    assert retry.after == {"run_ids": [retried]}
    assert (cancel.action, cancel.object_id) == ("run.cancel", str(retried))
    assert (cancel.before, cancel.after) == ({"status": "pending"}, {"status": "cancelled"})
    assert (enable.action, enable.object_type, enable.object_id) == ("dlq.recover", "job", "doomed")
    assert (enable.before["is_enabled"], enable.after["is_enabled"]) == (False, True)
    assert (recover.action, recover.object_id, recover.after) == (
        "dlq.recover",
        str(dead),
        {"run_ids": [recovered]},
    )


def test_firing_an_event_is_recorded_with_its_masked_payload_by_the_actor(
    app: Cronwell,
) -> None:
    app.schedule(command="true", name="restock", schedule="event stock.low")
    with acting_as(API_USER):
        fired = app.trigger_event("stock.low", {"sku": "A", "secret": "s"})
    (_, event) = records(app)
    assert (event.action, event.object_type, event.object_id) == (
        "event.fire",
        "event",
        str(fired.id),
    )
    assert event.after == {
        "name": "stock.low",
        "payload": {"sku": "A", "secret": "***"},
        "run_ids": list(fired.run_ids),
    }
    assert event.actor == "ana"


def test_templates_are_recorded_and_a_change_records_each_job_that_follows(
    app: Cronwell,
) -> None:
    app.create_template("hourly", schedule="@hourly")
    app.schedule(command="true", name="sync", template="hourly")
    app.update_template("hourly", schedule="@daily")
    with pytest.raises(SpecError):
        app.create_template("bad", schedule="61 * * * *")
    app.delete_schedule("sync")
    app.delete_template("hourly")
    assert [(r.action, r.object_id) for r in records(app)] == [
        ("template.create", "hourly"),
        ("job.create", "sync"),
        ("template.update", "hourly"),
        ("job.update", "sync"),
        ("job.delete", "sync"),
        ("template.delete", "hourly"),
    ]
    change = records(app)[2]
    assert (change.before["schedule"], change.after["schedule"]) == ("@hourly", "@daily")


def test_an_apply_records_each_template_from_what_was_stored(app: Cronwell) -> None:
    first = Template.parse({"name": "hourly", "schedule": "@hourly", "queue": "q1"})
    moved = Template.parse({"name": "hourly", "schedule": "@hourly", "queue": "q2"})
    app.apply([], templates=[first])
    app.apply([], templates=[first])  # unchanged: no record
    app.apply([], templates=[moved])
    made, changed = records(app)
    assert (made.action, made.before, made.after) == ("template.create", None, first.as_dict())
    assert (changed.action, changed.before, changed.after) == (
        "template.update",
        first.as_dict(),
        moved.as_dict(),
    )


def test_users_and_tokens_are_recorded_without_a_secret(app: Cronwell) -> None:
    app.add_user("bob", "operator", password="hunter2")
    made = app.create_token("viewer", user="bob", name="ci")
    app.revoke_token(made.row.id)
    app.revoke_token(made.row.id)  # revoked already: nothing changes, nothing recorded
    app.disable_user("bob")
    app.disable_user("bob")
    found = records(app)
    assert [(r.action, r.object_id) for r in found] == [
        ("user.add", "bob"),
        ("token.create", str(made.row.id)),
        ("token.revoke", str(made.row.id)),
        ("user.disable", "bob"),
    ]
    assert found[0].after == {"name": "bob", "role": "operator", "signs_in_with": "password"}
    assert found[1].after["user"] == "bob" and found[1].after["role"] == "viewer"
    assert found[2].after["revoked_at"] == NOW.isoformat()
    written = repr([(r.before, r.after, r.detail) for r in found])
    assert "hunter2" not in written and made.token not in written and "scrypt" not in written


def test_a_login_gives_a_token_with_the_users_role_and_is_recorded(
    app: Cronwell, clock: ManualClock
) -> None:
    app.add_user("bob", "operator", password="hunter2")
    with acting_as(Actor(name="anonymous", via="api")):
        token, row = app.login("bob", "hunter2", expires_in=timedelta(hours=1))
    principal = app.authenticate(token)
    assert principal is not None and (principal.user, principal.role) == ("bob", "operator")
    assert row.expires_at == NOW + timedelta(hours=1)
    login = records(app)[-1]
    assert (login.actor, login.role, login.via) == ("bob", "operator", "api")
    assert (login.action, login.object_type, login.object_id) == ("login", "user", "bob")
    assert token not in repr(login.after)
    clock.advance(timedelta(hours=1))
    assert app.authenticate(token) is None


@pytest.mark.parametrize(
    ("name", "password"), [("bob", "wrong"), ("nobody", "hunter2"), ("tokenonly", "")]
)
def test_a_failed_login_says_the_same_for_every_reason_and_its_record_commits(
    app: Cronwell, name: str, password: str
) -> None:
    app.add_user("bob", "operator", password="hunter2")
    app.add_user("tokenonly", "viewer")
    with pytest.raises(LoginFailed, match=r"^name or password is wrong$"):
        app.login(name, password)
    failed = records(app)[-1]
    assert (failed.actor, failed.action, failed.object_id) == (name, "login.failed", name)
    assert app.list_tokens() == []


def test_a_disabled_user_cannot_log_in(app: Cronwell) -> None:
    app.add_user("bob", "operator", password="hunter2")
    app.disable_user("bob")
    with pytest.raises(LoginFailed):
        app.login("bob", "hunter2")
    assert records(app)[-1].action == "login.failed"
    assert app.list_tokens() == []


def test_the_facade_masks_a_definition_for_display(app: Cronwell) -> None:
    spec = JobSpec.parse({"name": "s", "command": "true", "env": {"API_KEY": "k"}})
    assert app.masked_definition(spec)["env"] == {"API_KEY": "***"}
    assert app.masked_definition(spec.canonical())["env"] == {"API_KEY": "***"}
    assert spec.env["API_KEY"] == "k"


def test_the_app_masks_by_the_keys_it_is_given_or_the_environment_names(
    database_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = Cronwell(database_url, clock=clock, secret_keys=SecretKeys(("pin",)))
    monkeypatch.setenv("CRONWELL_SECRET_KEYS", " region , ")
    from_env = Cronwell(database_url, clock=clock, migrate=False)
    try:
        given.schedule(command="true", name="a", kwargs={"pin": "1", "password": "p"})
        from_env.schedule(command="true", name="b", kwargs={"region": "eu", "password": "p"})
        b, a = given.list_audit()
        assert a.after["kwargs"] == {"pin": "***", "password": "p"}
        assert b.after["kwargs"] == {"region": "***", "password": "p"}
        assert from_env.masked_definition(from_env.get_schedule("b").spec)["kwargs"] == {
            "region": "***",
            "password": "p",
        }
    finally:
        given.database.dispose()
        from_env.database.dispose()


def test_executing_a_job_at_once_is_recorded_as_a_trigger(app: Cronwell) -> None:
    app.schedule(command="echo secret=s", name="sync")
    executed = app.execute_now("sync")
    trigger = records(app)[-1]
    assert (trigger.action, trigger.object_id) == ("job.trigger", "sync")
    assert (trigger.after, trigger.detail) == ({"run_ids": [executed.run.id]}, {"exec": True})
    assert executed.attempt is not None and executed.attempt.output == "secret=***\n"
