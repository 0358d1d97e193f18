"""Job definitions the API tests send, and the checks their answers share."""

from __future__ import annotations

from typing import Any

import httpx


def definition(name: str = "nightly", **fields: Any) -> dict[str, Any]:
    return {"name": name, "task": "report", "schedule": "0 2 * * *", "timezone": "UTC", **fields}


def define(client: httpx.Client, name: str = "nightly", **fields: Any) -> dict[str, Any]:
    response = client.post("/jobs", json=definition(name, **fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: httpx.Response, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.json()["field"] == field
