"""The API about itself: health, and who the caller is."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from cronwell.web.security import Caller

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str


class Whoami(BaseModel):
    user: str | None
    role: str
    token_id: int


@router.get("/health")
def health() -> Health:
    """Whether the API answers; public, for load balancers."""
    return Health(status="ok")


@router.get("/whoami")
def whoami(caller: Caller) -> Whoami:
    """The user and role the presented token acts as."""
    return Whoami(user=caller.user, role=caller.role.value, token_id=caller.token_id)
