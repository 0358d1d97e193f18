"""The API's frame: health, who the caller is, 401 without a token, errors as JSON."""

from __future__ import annotations

import httpx

from cronwell.auth import Role
from tests.e2e.api.conftest import Served


def test_health_answers_without_a_token(served: Served) -> None:
    response = served.client(None).get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_whoami_names_the_tokens_user_and_role(operator: httpx.Client) -> None:
    response = operator.get("/whoami")
    assert response.status_code == 200
    assert response.json()["user"] == "operator"
    assert response.json()["role"] == "operator"


def test_no_token_answers_401_as_json_with_a_bearer_challenge(served: Served) -> None:
    response = served.client(None).get("/whoami")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_answers_401(served: Served) -> None:
    token_id = next(row.id for row in served.app.list_tokens() if row.role == Role.VIEWER)
    served.app.revoke_token(token_id)
    assert served.client(Role.VIEWER).get("/whoami").status_code == 401


def test_an_unknown_path_answers_404_as_json(admin: httpx.Client) -> None:
    response = admin.get("/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_schema_and_the_docs_are_served(served: Served) -> None:
    client = httpx.Client(base_url=served.url)
    served.clients.append(client)
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/whoami" in schema.json()["paths"]
    assert "swagger" in client.get("/api/docs").text.lower()
