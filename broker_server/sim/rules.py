"""Scripted order behaviour: fill sizes (partial fills) and rejections (error 201).

Tests and the control port add rules; the order handlers ask them at placement, the feeds
at every fill. Pure state, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RejectRule:
    """Reject new orders that match every non-empty criterion with error 201 and ``reason``."""

    reason: str
    con_id: int = 0
    symbol: str = ""
    order_ref: str = ""
    client_id: int | None = None
    action: str = ""
    times: int | None = None
    """How many more orders this rule rejects (None: every matching order)."""

    def matches(
        self, client_id: int, con_id: int, symbol: str, action: str, order_ref: str
    ) -> bool:
        """Whether an order with these attributes is rejected by this rule."""
        return (
            (not self.con_id or self.con_id == con_id)
            and (not self.symbol or self.symbol.upper() == symbol)
            and (not self.order_ref or self.order_ref == order_ref)
            and (self.client_id is None or self.client_id == client_id)
            and (not self.action or self.action.upper() == action)
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data (control port)."""
        return {
            "reason": self.reason,
            "con_id": self.con_id,
            "symbol": self.symbol,
            "order_ref": self.order_ref,
            "client_id": self.client_id,
            "action": self.action,
            "times": self.times,
        }


@dataclass
class OrderRules:
    """Fill sizes and rejections of one simulator."""

    default_chunk: float = 0.0
    """Largest quantity one execution fills (0: the whole remainder at once)."""
    chunks_by_con_id: dict[int, float] = field(default_factory=dict)
    chunks_by_order_ref: dict[str, float] = field(default_factory=dict)
    rejects: list[RejectRule] = field(default_factory=list)

    def set_fill_chunk(self, qty: float, con_id: int = 0, order_ref: str = "") -> None:
        """Fill at most ``qty`` per execution: for one orderRef, one instrument, or all
        (neither given). 0 removes the setting (whole fills)."""
        if qty < 0:
            raise ValueError("fill chunk must be >= 0")
        if order_ref:
            table: dict[Any, float] = self.chunks_by_order_ref
            key: Any = order_ref
        elif con_id:
            table, key = self.chunks_by_con_id, con_id
        else:
            self.default_chunk = qty
            return
        if qty:
            table[key] = qty
        else:
            table.pop(key, None)

    def chunk_for(self, con_id: int, order_ref: str) -> float:
        """Execution size for an order (0: fill the remainder); orderRef wins over conId."""
        if order_ref and order_ref in self.chunks_by_order_ref:
            return self.chunks_by_order_ref[order_ref]
        return self.chunks_by_con_id.get(con_id, self.default_chunk)

    def add_reject(self, rule: RejectRule) -> None:
        """Reject matching new orders from now on."""
        if not rule.reason:
            raise ValueError("a reject rule needs a reason")
        self.rejects.append(rule)

    def rejection(
        self, client_id: int, con_id: int, symbol: str, action: str, order_ref: str
    ) -> str | None:
        """The reason a new order is rejected, or None; a matching rule uses up one of its
        ``times``."""
        for rule in self.rejects:
            if rule.matches(client_id, con_id, symbol, action, order_ref):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rejects.remove(rule)
                return rule.reason
        return None

    def clear(self) -> None:
        """Whole fills, no rejections."""
        self.default_chunk = 0.0
        self.chunks_by_con_id.clear()
        self.chunks_by_order_ref.clear()
        self.rejects.clear()

    def status(self) -> dict[str, Any]:
        """Plain data (control port)."""
        return {
            "default_fill_chunk": self.default_chunk,
            "fill_chunks_by_con_id": {str(k): v for k, v in self.chunks_by_con_id.items()},
            "fill_chunks_by_order_ref": dict(self.chunks_by_order_ref),
            "rejects": [r.as_dict() for r in self.rejects],
        }
