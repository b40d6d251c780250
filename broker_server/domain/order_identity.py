"""The identity of an order request: its idempotency key, parameter hash and orderRef.

- The key names the request (client-chosen, per owner, at most 128 bytes).
- :func:`parameter_hash` says what it asks for, the same however it was spelled (``"1.50"`` is
  ``"1.5"``, an unset time in force is DAY), so a retry is told from a different order.
- :func:`derive_order_ref` is the orderRef IB carries back in openOrder, orderStatus,
  execDetails and completedOrder: deterministic from (owner, key, bracket role), so the order is
  found again after any drop or restart (``reconcile.py``).
"""

from __future__ import annotations

import base64
import hashlib
import json

from broker_server.domain.errors import FieldViolation
from broker_server.domain.orders import BracketRole, BracketSpec, OrderSpec

MAX_IDEMPOTENCY_KEY_BYTES = 128
"""Longest idempotency key accepted, in UTF-8 bytes."""
ORDER_REF_PREFIX = "ibb1-"
"""Marks an orderRef as the broker's (and its derivation scheme's version)."""


def check_idempotency_key(key: str, *, name: str = "idempotency_key") -> list[FieldViolation]:
    """A key is required, at most :data:`MAX_IDEMPOTENCY_KEY_BYTES` bytes of UTF-8."""
    if not key:
        return [
            FieldViolation(name, "required: choose a unique key per order and reuse it on retries")
        ]
    size = len(key.encode("utf-8", errors="surrogatepass"))
    if size > MAX_IDEMPOTENCY_KEY_BYTES:
        return [FieldViolation(name, f"{size} bytes; at most {MAX_IDEMPOTENCY_KEY_BYTES} allowed")]
    return []


def parameter_hash(request: OrderSpec | BracketSpec) -> str:
    """SHA-256 (hex) of the request's canonical form: equal for equal orders however spelled.

    The key and the owner are not part of it: they name the request, the hash says what it
    asks for. A single order and a bracket never hash alike (the form is tagged).
    """
    kind = "bracket" if isinstance(request, BracketSpec) else "single"
    body = {"v": 1, "kind": kind, "order": request.canonical()}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def derive_order_ref(owner: str, key: str, role: BracketRole = BracketRole.NONE) -> str:
    """The orderRef of the order placed under (owner, key) in ``role``: deterministic, short.

    ``ibb1-`` + 26 base32 characters (128 bits of SHA-256 over owner and key) + ``-`` + the
    role letter: 33 ASCII characters whatever the key holds, so it fits IB's orderRef, and the
    same request always yields it, also after a broker restart. It leads back to its journal
    entry, which stores it (an indexed column): reconciliation looks entries up by it.
    """
    digest = hashlib.sha256(
        b"ibbroker.orderRef.v1\0" + owner.encode() + b"\0" + key.encode()
    ).digest()
    token = base64.b32encode(digest[:16]).decode("ascii").rstrip("=").lower()
    return f"{ORDER_REF_PREFIX}{token}-{role.value.lower()}"


def is_broker_order_ref(order_ref: str) -> bool:
    """Whether ``order_ref`` has the shape of one the broker derived (vs an external order)."""
    return order_ref.startswith(ORDER_REF_PREFIX)
