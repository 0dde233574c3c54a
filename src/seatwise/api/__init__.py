"""The REST API: one module per resource (schemas beside endpoints), each a thin shell over
the engine's use cases. :func:`create_app` builds it; ``seatwise serve`` runs it."""

from seatwise.api.app import create_app

__all__ = ["create_app"]
