"""Who is acting: the operating system's user by default, the actor a block sets inside it."""

from __future__ import annotations

import threading

import pytest

from cronwell.audit import Actor, acting_as, current_actor
from cronwell.versions import author_or_default


def test_by_default_the_user_running_this_acts_from_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "ana")
    assert current_actor() == Actor(name="ana", role=None, via="python")


def test_acting_as_sets_the_actor_for_the_block_and_restores_the_one_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "ana")
    outer = Actor(name="bob", role="admin", via="api")
    with acting_as(outer):
        with acting_as(Actor(name="cy", role="viewer", via="api")):
            assert current_actor().name == "cy"
        assert current_actor() == outer
    assert current_actor().name == "ana"


def test_the_actor_is_restored_when_the_block_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "ana")
    with pytest.raises(RuntimeError), acting_as(Actor(name="bob", via="api")):
        raise RuntimeError("boom")
    assert current_actor().name == "ana"


def test_an_actor_set_in_one_thread_is_not_seen_by_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "ana")
    seen: list[str] = []
    with acting_as(Actor(name="bob", via="api")):
        thread = threading.Thread(target=lambda: seen.append(current_actor().name))
        thread.start()
        thread.join()
    assert seen == ["ana"]


def test_the_default_author_of_a_version_is_the_current_actor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "ana")
    with acting_as(Actor(name="api-user", role="operator", via="api")):
        assert author_or_default(None) == "api-user"
        assert author_or_default("ci") == "ci"
