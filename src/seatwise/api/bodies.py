"""Request bodies. Every body's model is an :class:`Input`: a field it does not have is refused,
not ignored. And a body read and validated in one pass, for the routes whose bodies are large:

FastAPI decodes a JSON body with the standard library, then validates the Python objects; for
a batch of 1,000 events that is three times pydantic's own validation of the JSON text. A route
that takes its body with :func:`parsed_body` gets the same model and, on bad input, the same
422 problem (:class:`~fastapi.exceptions.RequestValidationError`, fields named from ``body``),
and declares its body in the OpenAPI document with :func:`documented_body`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class Input(BaseModel):
    """A request body (or a part of one): a field it does not have is refused (422, naming
    it), not ignored — ``{"until": …}`` sent to a billing run, or ``{"plan": …}`` to an
    account's update, would otherwise be answered 200 while doing something else than asked."""

    model_config = ConfigDict(extra="forbid")


_NOT_AN_OBJECT = {
    "type": "model_attributes_type",
    "loc": ("body",),
    "msg": "Input should be a valid dictionary or object to extract fields from",
}

# The models of bodies taken this way: the OpenAPI document lists them with the others.
DOCUMENTED: dict[str, type[BaseModel]] = {}


async def parsed_body(request: Request, model: type[Model]) -> Model:
    """The request's body as ``model``; 422 (the usual problem) when it is not one. A body
    sent as another media type than JSON is not read as JSON, as FastAPI does not."""
    raw = await request.body()
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media != "application/json" and not media.endswith("+json"):  # curl -d's form, text
        raise RequestValidationError([_NOT_AN_OBJECT])  # FastAPI's words for other routes
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
        ) from None


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openapi_extra`` of a route that reads its body with :func:`parsed_body`."""
    DOCUMENTED[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def add_documented_bodies(components: dict[str, Any]) -> None:
    """Add the schemas of :data:`DOCUMENTED` bodies (and the models they use) to the OpenAPI
    document's ``components``, keeping those FastAPI wrote."""
    schemas = components.setdefault("schemas", {})
    for name, model in DOCUMENTED.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for used, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(used, definition)
        schemas.setdefault(name, schema)
