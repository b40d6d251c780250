"""The wrapped handler of each gRPC method, built once: what every interceptor of the edge keeps.

grpc.aio resolves the interceptor chain on every call, but the handlers below an interceptor are
the same objects each time, so an interceptor wraps a method's handler once and hands out that
wrapper again while the handler below is still the same object (the drain interceptor swaps it at
shutdown: then the wrapper is rebuilt, never served stale)."""

from __future__ import annotations

import grpc


class HandlerCache:
    """Wrapped handlers by method name, each with the handler it wraps (see the module docstring).

    Bounded: at most :attr:`MAX_ENTRIES` methods are kept; only registered methods are ever
    offered (unknown names do not reach a cache), so the bound is a guard, not a policy."""

    MAX_ENTRIES = 1024

    def __init__(self) -> None:
        self.entries: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}
        """Method -> (the handler below, its wrapper)."""

    def get(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler | None:
        """The wrapper of ``handler`` for ``method`` when it was built for this very handler."""
        cached = self.entries.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        return None

    def put(
        self, method: str, handler: grpc.RpcMethodHandler, wrapped: grpc.RpcMethodHandler
    ) -> grpc.RpcMethodHandler:
        """Keep ``wrapped`` as ``method``'s wrapper of ``handler`` (a stale entry is replaced
        even when full); returns ``wrapped``."""
        if len(self.entries) < self.MAX_ENTRIES or method in self.entries:
            self.entries[method] = (handler, wrapped)
        return wrapped
