"""API errors: every failure answers JSON ``{code, message, field}`` with the status it earns.

The facade raises the same exceptions the CLI turns into one line and exit code 2; here each
family maps to a stable ``code`` and an HTTP status, so a client can branch on ``code`` and show
``message``. Bad input is never a 500: a 500 means a bug or a broken database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from cronwell.app import (
    JobExists,
    RunEnded,
    TemplateExists,
    TemplateInUse,
    VersionConflict,
)
from cronwell.registry import UnknownTask
from cronwell.spec import SpecError


class ErrorBody(BaseModel):
    """What every error answers: ``code`` is stable, ``message`` is for people, ``field`` is
    the path of the input at fault (``schedule.cron``, ``kwargs.limit``) where there is one."""

    code: str
    message: str
    field: str | None = None


class ApiError(Exception):
    """An error the routes raise on purpose: the status, the code and the words."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers: dict[str, str] = {}


# Documented on every route, so clients and the schema fuzzer know each one may answer them.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": words}
    for status, words in (
        (400, "The request is malformed"),
        (401, "No valid token"),
        (403, "The token's role may not do this"),
        (404, "No such object"),
        (409, "The change conflicts with the store's state"),
        (422, "The input is invalid: `field` names where"),
    )
}

# Most specific first: the first family an exception belongs to decides its answer.
_FAMILIES: tuple[tuple[type[Exception], int, str], ...] = (
    (VersionConflict, 409, "version_conflict"),
    (JobExists, 409, "exists"),
    (TemplateExists, 409, "exists"),
    (TemplateInUse, 409, "in_use"),
    (RunEnded, 409, "conflict"),
    (UnknownTask, 422, "invalid"),  # a lookup, but of input the caller gave: not a 404
    (LookupError, 404, "not_found"),
    (ValueError, 422, "invalid"),
)


# Values the store cannot hold, which a route's model let through: a number past 64 bits
# (SQLite's driver refuses it before any SQL runs), a text longer than its column
# (PostgreSQL refuses it). Still bad input, not a server error; the transaction rolled back.
_OUT_OF_RANGE: tuple[type[Exception], ...] = (OverflowError, DataError)


def install(api: FastAPI) -> None:
    """Register the handlers that turn exceptions into ErrorBody answers."""
    api.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    api.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    api.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    for family, _status, _code in _FAMILIES:
        api.add_exception_handler(family, _domain_error)
    for family in _OUT_OF_RANGE:
        api.add_exception_handler(family, _out_of_range)


def answer(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body = ErrorBody(code=code, message=message, field=field)
    return JSONResponse(status_code=status, content=body.model_dump())


def _api_error(_request: Request, error: ApiError) -> JSONResponse:
    response = answer(error.status, error.code, error.message, error.field)
    response.headers.update(error.headers)
    return response


def _http_error(_request: Request, error: HTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    response = answer(error.status_code, code, str(error.detail))
    if error.headers:
        response.headers.update(error.headers)
    return response


def _invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
    problems = error.errors()
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    field = _field(first.get("loc", ()))
    message = f"{field}: {first['msg']}" if field else str(first["msg"])
    return answer(422, "invalid", message, field)


def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    status, code = next((s, c) for f, s, c in _FAMILIES if isinstance(error, f))
    return answer(status, code, _message(error), _field_of(error))


def _out_of_range(_request: Request, _error: Exception) -> JSONResponse:
    # The driver's words quote SQL and parameters: not for clients.
    message = "a value is out of the store's range: too large a number or too long a text"
    return answer(422, "invalid", message)


def _message(error: Exception) -> str:
    # KeyError quotes its argument; everything else reads as raised.
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error)


def _field_of(error: Exception) -> str | None:
    """The input at fault: SpecError's first place, PolicyError's and AuthError's field, or
    the ``field:`` that starts the message by the project's ``field: problem`` convention."""
    if isinstance(error, SpecError) and error.problems:
        return error.problems[0][0] or None
    if isinstance(error, UnknownTask):
        return "task"
    field = getattr(error, "field", None)
    if isinstance(field, str) and field:
        return field
    head, sep, _rest = _message(error).partition(": ")
    return head if sep and head and " " not in head else None


def _field(location: Sequence[Any]) -> str | None:
    # The first element says where the input came from (body, query, path): not a field.
    parts = [str(part) for part in location[1:]]
    return ".".join(parts) or None
