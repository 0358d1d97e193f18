"""The REST API: ``create_api(app)`` gives the FastAPI application that serves a Cronwell.

Every route lives under ``/api/v1`` and passes ``security.authorize`` first; the schema is at
``/api/openapi.json`` and the interactive docs at ``/api/docs``. Routes are plain ``def``:
the facade is synchronous, and FastAPI runs each call in its thread pool.
"""

from __future__ import annotations

from importlib.metadata import version

from fastapi import APIRouter, Depends, FastAPI

from cronwell.app import Cronwell
from cronwell.web import access, audit, cluster, errors, events, jobs, runs, system, versions
from cronwell.web.security import WebState, authorize

PREFIX = "/api/v1"
ROUTERS = (
    system.router,
    runs.router,
    events.router,
    cluster.router,
    access.router,
    jobs.router,
    versions.router,
    # Last: its logout revokes the token presented, which a walk over every route sends.
    audit.router,
)


def create_api(app: Cronwell, *, is_auth_on: bool = True) -> FastAPI:
    """The API over ``app``. With ``is_auth_on`` false every caller acts as a local admin:
    only for a server bound to 127.0.0.1 (``cronwell serve`` refuses anything else)."""
    api = FastAPI(
        title="cronwell",
        version=version("cronwell"),
        summary="Jobs, runs, events and their history, for programs and the people allowed.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    api.state.web = WebState(app=app, is_auth_on=is_auth_on)
    errors.install(api)
    v1 = APIRouter(
        prefix=PREFIX, dependencies=[Depends(authorize)], responses=errors.ERROR_RESPONSES
    )
    for router in ROUTERS:
        v1.include_router(router)
    api.include_router(v1)
    return api
