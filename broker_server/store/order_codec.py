"""Journal entries <-> the JSON text the store keeps (decimals as strings, enums by value).

One function each way, so both journals (SQLite and PostgreSQL) store the whole
immutable :class:`~broker_server.domain.journal.JournalEntry` as one document next to the
indexed columns it is looked up by (owner, key, orderRef, state, gateway, client ID).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from broker_server.domain.journal import JournalEntry
from broker_server.domain.order_state import OrderState
from broker_server.domain.orders import (
    BracketRole,
    ContractRef,
    OrderSpec,
    OrderType,
    Side,
    TimeInForce,
)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def spec_to_dict(spec: OrderSpec) -> dict[str, Any]:
    """An OrderSpec as plain JSON values."""
    return {
        "contract": asdict(spec.contract),
        "side": spec.side.value,
        "quantity": str(spec.quantity),
        "order_type": spec.order_type.value,
        "limit_price": _dec(spec.limit_price),
        "stop_price": _dec(spec.stop_price),
        "time_in_force": spec.time_in_force.value,
        "outside_rth": spec.outside_rth,
        "account": spec.account,
    }


def spec_from_dict(d: dict[str, Any]) -> OrderSpec:
    """The inverse of :func:`spec_to_dict`."""
    return OrderSpec(
        contract=ContractRef(**d["contract"]),
        side=Side(d["side"]),
        quantity=Decimal(d["quantity"]),
        order_type=OrderType(d["order_type"]),
        limit_price=_undec(d["limit_price"]),
        stop_price=_undec(d["stop_price"]),
        time_in_force=TimeInForce(d["time_in_force"]),
        outside_rth=bool(d["outside_rth"]),
        account=d["account"],
    )


def entry_to_json(entry: JournalEntry) -> str:
    """A journal entry as one JSON document."""
    body = {
        "owner": entry.owner,
        "key": entry.key,
        "role": entry.role.value,
        "param_hash": entry.param_hash,
        "order_ref": entry.order_ref,
        "gateway": entry.gateway,
        "client_id": entry.client_id,
        "order_id": entry.order_id,
        "spec": spec_to_dict(entry.spec),
        "state": entry.state.value,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "parent_order_id": entry.parent_order_id,
        "perm_id": entry.perm_id,
        "filled_quantity": str(entry.filled_quantity),
        "average_fill_price": _dec(entry.average_fill_price),
        "message": entry.message,
        "ib_error_code": entry.ib_error_code,
        "attempts": entry.attempts,
        "seen_by_ib": entry.seen_by_ib,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def entry_from_json(text: str) -> JournalEntry:
    """The inverse of :func:`entry_to_json`."""
    d = json.loads(text)
    return JournalEntry(
        owner=d["owner"],
        key=d["key"],
        role=BracketRole(d["role"]),
        param_hash=d["param_hash"],
        order_ref=d["order_ref"],
        gateway=d["gateway"],
        client_id=int(d["client_id"]),
        order_id=int(d["order_id"]),
        spec=spec_from_dict(d["spec"]),
        state=OrderState(d["state"]),
        created_at=float(d["created_at"]),
        updated_at=float(d["updated_at"]),
        parent_order_id=int(d["parent_order_id"]),
        perm_id=int(d["perm_id"]),
        filled_quantity=Decimal(d["filled_quantity"]),
        average_fill_price=_undec(d["average_fill_price"]),
        message=d["message"],
        ib_error_code=int(d["ib_error_code"]),
        attempts=int(d["attempts"]),
        seen_by_ib=bool(d["seen_by_ib"]),
    )


def entry_row(entry: JournalEntry) -> tuple[Any, ...]:
    """The ``orders`` row of an entry, in column order (the same in both journals): orderRef,
    owner, key, role, parameter hash, gateway, client ID, order ID, state, created, updated,
    and the whole entry as JSON."""
    return (
        entry.order_ref,
        entry.owner,
        entry.key,
        entry.role.value,
        entry.param_hash,
        entry.gateway,
        entry.client_id,
        entry.order_id,
        entry.state.value,
        entry.created_at,
        entry.updated_at,
        entry_to_json(entry),
    )
