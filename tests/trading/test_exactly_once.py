"""Exactly once, as a model check of the pure core: a retried PlaceOrder never makes a second
order at IB, whatever happens between the journal write and the acknowledgement.

A hypothesis state machine plays a broker (journal and order-ID high-water survive a crash,
nothing else does) against a model of TWS that follows its documented rules (TWS_PROTOCOL.md,
"Orders"): a new order needs an unused ID above every ID the client ID used; the same ID again
modifies a working order, and is refused (103) for a finished one. Messages are lost, acks are
lost, the broker crashes between journal and send, TWS's ID sequence is reset, orders fill.
After every step: at most one IB order per orderRef, and a NOT_SENT entry has no IB order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from broker_server.domain.journal import (
    IdempotencyOutcome,
    JournalEntry,
    advance,
    decide,
    plan_entries,
    plan_resend,
)
from broker_server.domain.order_identity import parameter_hash
from broker_server.domain.order_ids import OrderIdAllocator, OrderIdScope
from broker_server.domain.order_state import OrderState
from broker_server.domain.reconcile import IbCompletedOrder, IbOpenOrder, apply_decision, reconcile
from tests.trading.helpers import NOW, limit_order

S = OrderState
KEYS = ("k1", "k2", "k3")
FATES = ("acked", "ack_lost", "lost", "crash_before_send")


@dataclass
class IbOrder:
    order_ref: str
    client_id: int
    order_id: int
    perm_id: int
    status: str = "Submitted"


class Tws:
    """TWS's order rules, as far as exactly-once depends on them."""

    def __init__(self) -> None:
        self.orders: dict[tuple[int, int], IbOrder] = {}
        self.max_used: dict[int, int] = {}
        self.perm = 1000

    def place(self, client_id: int, order_id: int, order_ref: str) -> IbOrder | None:
        existing = self.orders.get((client_id, order_id))
        if existing is not None:
            return existing if existing.status == "Submitted" else None  # modify, or 103
        if order_id <= self.max_used.get(client_id, 0):
            return None  # 103: an ID below one used before
        self.perm += 1
        order = IbOrder(order_ref, client_id, order_id, self.perm)
        self.orders[(client_id, order_id)] = order
        self.max_used[client_id] = order_id
        return order

    def next_valid_id(self, client_id: int, reset: bool) -> int:
        return 1 if reset else self.max_used.get(client_id, 0) + 1


class ExactlyOnce(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tws = Tws()
        self.journal: dict[str, tuple[JournalEntry, ...]] = {}  # durable
        self.ids = OrderIdAllocator()
        self.client_id = 101
        self.now = NOW
        self.ids.observe_next_valid(self.scope, 1)

    @property
    def scope(self) -> OrderIdScope:
        return OrderIdScope("paper", self.client_id)

    def _store(self, key: str, entries: tuple[JournalEntry, ...]) -> None:
        self.journal[key] = entries

    def _send(self, key: str, fate: str) -> None:
        (entry,) = self.journal[key]
        if fate == "crash_before_send":
            self.crash(reset=False)
            return
        entry, _ = advance(entry, S.SUBMITTED, "sent", now=self.now)
        self._store(key, (entry,))
        if fate == "lost":
            return
        ib = self.tws.place(entry.client_id, entry.order_id, entry.order_ref)
        if fate == "acked" and ib is not None and ib.order_ref == entry.order_ref:
            entry, _ = advance(entry, S.ACKNOWLEDGED, "ack", now=self.now, perm_id=ib.perm_id)
            self._store(key, (entry,))

    @rule(key=st.sampled_from(KEYS), fate=st.sampled_from(FATES))
    def place(self, key: str, fate: str) -> None:
        """A client calls PlaceOrder (first time or a retry, always with the same request)."""
        self.now += 1
        spec = limit_order()
        decision = decide(parameter_hash(spec), self.journal.get(key, ()))
        if decision.outcome is IdempotencyOutcome.REPLAY:
            return
        if decision.outcome is IdempotencyOutcome.NEW:
            entries = plan_entries(
                owner="alice",
                key=key,
                request=spec,
                param_hash=parameter_hash(spec),
                gateway="paper",
                client_id=self.client_id,
                reservations=self.ids.reserve(self.scope),
                now=self.now,
            )
        else:
            resent = plan_resend(
                decision.entries,
                client_id=self.client_id,
                reservations=self.ids.reserve(self.scope),
                now=self.now,
            )
            entries = tuple(e for e, _ in resent)
        self._store(key, entries)  # durable before the send
        self._send(key, fate)

    @rule(reset=st.booleans(), new_client=st.booleans())
    def crash(self, reset: bool, new_client: bool = False) -> None:
        """The broker restarts: the journal survives; in-flight outcomes become UNKNOWN."""
        for key, entries in self.journal.items():
            self._store(
                key,
                tuple(
                    advance(e, S.UNKNOWN, "restart", now=self.now)[0]
                    if e.state in (S.PENDING, S.SUBMITTED)
                    else e
                    for e in entries
                ),
            )
        if new_client:
            self.client_id += 1
        self.ids = OrderIdAllocator()
        self.ids.load(
            (OrderIdScope(e.gateway, e.client_id), e.order_id)
            for entries in self.journal.values()
            for e in entries
        )
        self.ids.observe_next_valid(self.scope, self.tws.next_valid_id(self.client_id, reset))

    @rule()
    def reconnect_and_reconcile(self) -> None:
        pending = [e for entries in self.journal.values() for e in entries if not e.state.terminal]
        opens = [
            IbOpenOrder(o.order_ref, o.perm_id, o.client_id, o.order_id, o.status)
            for o in self.tws.orders.values()
            if o.status == "Submitted"
        ]
        done = [
            IbCompletedOrder(
                o.order_ref, o.perm_id, o.client_id, o.order_id, o.status, Decimal(100)
            )
            for o in self.tws.orders.values()
            if o.status == "Filled"
        ]
        for decision in reconcile(pending, opens, done, []).decisions:
            entry, _ = apply_decision(decision, self.now)
            self._store(entry.key, (entry,))

    @rule(index=st.integers(0, 10))
    def fill(self, index: int) -> None:
        working = [o for o in self.tws.orders.values() if o.status == "Submitted"]
        if working:
            working[index % len(working)].status = "Filled"

    @rule(key=st.sampled_from(KEYS))
    def reconnect_then_retry(self, key: str) -> None:
        """Liveness: after reconciliation, one retry that gets through leaves exactly one order
        at IB for the key, in a state IB gave it."""
        self.reconnect_and_reconcile()
        self.place(key, "acked")
        self.reconnect_and_reconcile()
        (entry,) = self.journal[key]
        assert entry.state in (S.ACKNOWLEDGED, S.FILLED), entry.state
        assert [o.order_ref for o in self.tws.orders.values()].count(entry.order_ref) == 1
        event(f"settled after {entry.attempts} attempt(s)")

    @invariant()
    def at_most_one_order_at_ib_per_key(self) -> None:
        refs = [o.order_ref for o in self.tws.orders.values()]
        assert len(refs) == len(set(refs)), f"duplicate order at IB: {refs}"

    @invariant()
    def not_sent_means_absent(self) -> None:
        refs = {o.order_ref for o in self.tws.orders.values()}
        for entries in self.journal.values():
            for e in entries:
                if e.state is S.NOT_SENT:
                    assert e.order_ref not in refs


ExactlyOnce.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestExactlyOnce = ExactlyOnce.TestCase
