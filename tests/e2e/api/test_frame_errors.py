"""The frame's answers to input that a route's model lets through but the store cannot hold:
422 ``invalid``, never a 500 (what the schema fuzzer found first)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from cronwell.auth import Role
from cronwell.web import api, security
from cronwell.web.security import App, Caller
from cronwell.web.server import WebServer
from tests.e2e.api.conftest import Served

probe = APIRouter()


class NewToken(BaseModel):
    name: str


@probe.get("/probe/jobs/{job_id}")
def probe_job(caller: Caller, app: App, job_id: int) -> dict[str, str]:
    return {"name": app.get_schedule(job_id).name}


@probe.post("/probe/tokens", status_code=201)
def probe_token(caller: Caller, app: App, body: NewToken) -> dict[str, int]:
    return {"id": app.create_token(Role.VIEWER, name=body.name).row.id}


@pytest.fixture
def probed(served: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    """The served app behind a server whose API has the probe's routes too."""
    monkeypatch.setattr(api, "ROUTERS", (*api.ROUTERS, probe))
    monkeypatch.setitem(security.RULES, "probe_job", security.VIEWER)
    monkeypatch.setitem(security.RULES, "probe_token", security.ADMIN)
    server = WebServer(served.app, port=0)
    server.start()
    headers = {"Authorization": f"Bearer {served.tokens[Role.ADMIN]}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers) as client:
        yield client
    server.stop()


def test_an_id_past_64_bits_is_invalid_input_or_unknown_not_a_server_error(
    probed: httpx.Client,
) -> None:
    answer = probed.get(f"/probe/jobs/{2**70}")
    assert (answer.status_code, answer.json()["code"]) in {(422, "invalid"), (404, "not_found")}


def test_a_text_longer_than_its_column_is_invalid_input_or_kept_not_a_server_error(
    probed: httpx.Client,
) -> None:
    answer = probed.post("/probe/tokens", json={"name": "n" * 300})
    assert answer.status_code in {201, 422}
    if answer.status_code == 422:
        assert answer.json()["code"] == "invalid"
        assert "too long a text" in answer.json()["message"]
