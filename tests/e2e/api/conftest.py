"""A real API over HTTP on a free loopback port, over a real store of each dialect.

``served`` starts the same ``WebServer`` that ``cronwell run`` and ``cronwell serve`` start, on
an app with a simulated clock and the tasks of ``tests.e2e.api.tasks``, with a user and a
token of each role; ``client(role)`` gives an httpx client that presents that role's token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fastapi.routing
import httpx
import pytest

from cronwell.app import Cronwell
from cronwell.auth import Role
from cronwell.engine.clock import ManualClock
from cronwell.web.api import PREFIX, create_api
from cronwell.web.security import WebState
from cronwell.web.server import WebServer
from tests.e2e.api import tasks

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Served:
    app: Cronwell
    url: str
    tokens: dict[Role, str]
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, role: Role | None = Role.ADMIN, *, token: str | None = None) -> httpx.Client:
        """A client with ``role``'s token (or ``token``); ``role=None``: no token at all."""
        if token is None and role is not None:
            token = self.tokens[role]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)
        self.clients.append(client)
        return client


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    methods: frozenset[str]
    endpoint: Callable[..., Any]


def api_routes(app: Cronwell) -> list[Route]:
    """The API's endpoints under PREFIX. FastAPI keeps an included router as one entry of
    ``routes`` in recent versions (its ``iter_route_contexts`` walks into them) and as its
    routes, flattened, in older ones."""
    routes: Iterable[Any] = create_api(app).routes
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    if walk is not None:
        routes = walk(list(routes))
    found = []
    for route in routes:
        path = getattr(route, "path_format", None) or getattr(route, "path", None) or ""
        endpoint = getattr(route, "endpoint", None)
        if path.startswith(PREFIX + "/") and route.methods and endpoint is not None:
            found.append(Route(route.name, path, frozenset(route.methods), endpoint))
    return found


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[Cronwell]:
    app = Cronwell(database_url, clock=clock)
    app.task(tasks.report)
    app.task(tasks.sync)
    yield app
    app.database.dispose()


@pytest.fixture
def served(app: Cronwell, web_server: WebServer) -> Iterator[Served]:
    tokens = {}
    for role in Role:
        app.add_user(role.value, role)
        tokens[role] = app.create_token(role, user=role.value, name=f"{role.value} test").token
    between_tests = web_server.api.state.web
    web_server.api.state.web = WebState(app=app)
    served = Served(app, web_server.url, tokens)
    yield served
    for client in served.clients:
        client.close()
    web_server.api.state.web = between_tests


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """One real server for the session (per test process): each test points it at its own
    app, which is the only state the API keeps, instead of paying for a server start."""
    idle = Cronwell(f"sqlite:///{tmp_path_factory.mktemp('web') / 'idle.db'}")
    server = WebServer(idle, port=0)
    server.start()
    yield server
    server.stop()
    idle.database.dispose()


@pytest.fixture
def admin(served: Served) -> httpx.Client:
    return served.client(Role.ADMIN)


@pytest.fixture
def operator(served: Served) -> httpx.Client:
    return served.client(Role.OPERATOR)


@pytest.fixture
def viewer(served: Served) -> httpx.Client:
    return served.client(Role.VIEWER)
