"""The audit log: one JSON line per lease, trade and admin call and per refused authentication.

Lines go to their own logger, ``ibbroker.audit`` (not propagated to the main log), written to
``auth.audit_file`` (created with mode 0600) or to stderr. A line holds the identity, how it
authenticated, the peer, the RPC, the outcome (a gRPC status code name) and its reason, and
the request ID (``x-request-id`` metadata, else one made up); never a token, a key or a request
body.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Mapping

from opentelemetry import metrics as otel

from broker_server.logs import BackgroundWriter, JsonFormatter, log_event

log = logging.getLogger("ibbroker.audit")

_audited = otel.get_meter("ibbroker").create_counter(
    "ibbroker.audit.lines", unit="{line}", description="Audit log lines, by outcome."
)


def configure_audit(path: str) -> None:
    """Send the audit logger's lines to ``path`` (mode 0600) or, when empty, to stderr."""
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    handler: logging.Handler
    if path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        handler = logging.FileHandler(path, mode="a", encoding="utf-8")
        handler.setFormatter(JsonFormatter())
    else:
        # One line per audited RPC: written off the event loop, as the main log is.
        handler = BackgroundWriter(sys.stderr)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def request_id(metadata: Mapping[str, str | bytes]) -> str:
    """The caller's ``x-request-id`` (at most 128 characters), else a new random one."""
    value = metadata.get("x-request-id", "")
    if isinstance(value, str) and value:
        return value[:128]
    return uuid.uuid4().hex


def audit(
    *,
    identity: str,
    via: str,
    peer: str,
    rpc: str,
    outcome: str,
    reason: str = "",
    request_id: str = "",
    **extra: object,
) -> None:
    """Write one audit line (``event`` = ``audit``)."""
    _audited.add(1, {"outcome": outcome})
    log_event(
        log,
        logging.INFO,
        "audit",
        identity=identity,
        via=via,
        peer=peer,
        rpc=rpc,
        outcome=outcome,
        reason=reason,
        request_id=request_id,
        **extra,
    )
