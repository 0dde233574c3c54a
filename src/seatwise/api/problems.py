"""Errors as ``application/problem+json`` (RFC 9457): one shape for every error, the same words
as the command line's, and never a traceback.

A problem has ``type`` (a URI naming the kind of error), ``title``, ``status``, ``detail``
and, for input that does not validate, ``errors``: ``[{"field", "reason"}]``. An unexpected
failure is a 500 problem with an ``error_id`` that is in the server's log with its traceback.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.exceptions import HTTPException

from seatwise.core.errors import FieldError, InvalidAmount, SeatwiseError
from seatwise.engine.access import AccessDenied
from seatwise.engine.payments import UnknownEndpoint
from seatwise.engine.plans import UnknownPlan
from seatwise.store.database import StoreUnavailable, describe_database_error
from seatwise.store.repository import UnknownAccount, UnknownInvoice
from seatwise.yaml_source import SourceError

LOG = logging.getLogger("seatwise.api")
MEDIA_TYPE = "application/problem+json"
TYPES = "https://seatwise.dev/problems/"


class FieldProblem(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """An error: what kind (``type``, ``title``), the HTTP ``status``, what happened in words
    (``detail``), and the fields at fault (``errors``)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None
    error_id: str | None = None


TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    500: "Internal error",
    503: "Unavailable",
}
SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    408: "timeout",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid",
    500: "internal",
    503: "unavailable",
}


def problem(
    status: int,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    error_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=TYPES + SLUGS.get(status, "error"),
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=None if errors is None else [FieldProblem(**e) for e in errors],
        error_id=error_id,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def status_of(error: SeatwiseError) -> int:
    """The HTTP status of an error Seatwise raises on purpose."""
    if isinstance(error, AccessDenied):
        return error.status
    if isinstance(error, UnknownAccount | UnknownInvoice | UnknownPlan | UnknownEndpoint):
        return 404
    if isinstance(error, FieldError | InvalidAmount | SourceError):
        return 422
    if isinstance(error, StoreUnavailable):
        return 503
    return 409  # refused by the state of things: already paid, cancelled, in the future…


def seatwise_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SeatwiseError)
    status = status_of(error)
    errors = None
    if isinstance(error, FieldError):
        errors = [{"field": error.field, "reason": error.reason}]
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem(status, str(error), errors, headers=headers)


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def _reason(item: Any) -> str:
    if item.get("type") == "extra_forbidden":  # pydantic's words: "Extra inputs are not permitted"
        return "is not a field of this request (see /docs)"
    return str(item.get("msg", "invalid"))


def validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"field": _field(tuple(item.get("loc", ()))), "reason": _reason(item)}
        for item in error.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
    return problem(422, detail or "the request does not validate", errors)


def http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    detail = error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code, "")
    return problem(error.status_code, detail, headers=getattr(error, "headers", None))


def database_error(request: Request, error: Exception) -> JSONResponse:
    """503 for a database that failed (unreachable, locked, read-only, not migrated: the
    operator's to mend, and running again is safe). A value the database refused to hold
    (``DataError``: out of range, not valid for its type) is Seatwise's own failure — every
    input is bounded before it is stored — so it is the 500 of any unexpected failure, its
    words only in the server's log (telling a client to run it again would loop)."""
    if isinstance(error, DataError):
        return unexpected_error(request, error)
    error_id = uuid.uuid4().hex[:12]
    LOG.error("database failure %s: %s", error_id, error, exc_info=error)
    return problem(503, describe_database_error(error), error_id=error_id)


def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    error_id = uuid.uuid4().hex[:12]
    LOG.error(
        "unexpected failure %s on %s %s", error_id, request.method, request.url.path, exc_info=error
    )
    return problem(
        500,
        f"an unexpected failure, error id {error_id} (in the server's log); nothing was "
        "half-done: every change is one transaction",
        error_id=error_id,
    )


HANDLERS = {
    SeatwiseError: seatwise_error,
    RequestValidationError: validation_error,
    HTTPException: http_error,
    SQLAlchemyError: database_error,
    Exception: unexpected_error,
}

# What every operation may answer besides its own success (for the OpenAPI document).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": TITLES[status]}
    for status in (400, 401, 403, 404, 409, 413, 422, 500, 503)
}
