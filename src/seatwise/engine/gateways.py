"""The payment gateway billing charges through, as the environment configures it."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from seatwise.core.errors import SeatwiseError
from seatwise.core.gateway import PaymentGateway, TestGateway


def configured_gateway(env: Mapping[str, str] = os.environ) -> PaymentGateway:
    """The gateway billing runs charge through: ``SEATWISE_GATEWAY=module:factory`` names a
    callable returning a :class:`~seatwise.core.gateway.PaymentGateway` (the vendor's adapter
    to its payment provider); unset, the built-in test gateway."""
    spec = env.get("SEATWISE_GATEWAY", "").strip()
    if not spec:
        return TestGateway()
    module_name, _, name = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), name or "gateway")
    except (ImportError, AttributeError) as error:
        raise SeatwiseError(
            f"SEATWISE_GATEWAY: cannot load {spec!r} (module:factory): {error}"
        ) from None
    gateway: PaymentGateway = factory()
    return gateway
