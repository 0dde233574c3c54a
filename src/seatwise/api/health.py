"""``GET /healthz``: the server answers and its database does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from seatwise.api.context import Services, services
from seatwise.store.database import describe_database_error

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    responses={503: {"description": "The database does not answer"}},
    summary="Whether the server and its database answer",
    openapi_extra={"security": []},
)
def health(found: Annotated[Services, Depends(services)]) -> JSONResponse:
    try:
        with found.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        detail = describe_database_error(error)
        return JSONResponse({"status": "unavailable", "database": detail}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/livez",
    summary="Whether the server answers (nothing else is asked)",
    openapi_extra={"security": []},
)
async def alive() -> JSONResponse:
    """Answered by the event loop itself, not in a worker thread: a liveness probe gets its
    answer even while slow requests hold every thread of the pool."""
    return JSONResponse({"status": "ok"})
