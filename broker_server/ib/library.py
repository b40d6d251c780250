"""Choose the TWS API client library: ib_insync (default) or its maintained fork ib_async.

Both expose the same ``IB`` class and contract types, so the rest of :mod:`broker_server.ib`
is written once against this module's return value.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from broker_server.domain.limits import IB_CLIENT_LIBRARIES as LIBRARIES


def load(name: str) -> ModuleType:
    """Import and return the library module called ``name``."""
    if name not in LIBRARIES:
        raise ValueError(f"ib_library must be one of {', '.join(LIBRARIES)}, not {name!r}")
    return importlib.import_module(name)
