"""A hypothesis state machine over the lease domain + runtime + SQLite store.

Steps: acquire, renew, release (by the owner or by a stranger, with the right or a wrong epoch),
clock steps with sweeps, and broker restarts that reopen the store. Invariants: at most one live
holder per client ID, epochs strictly increase per ID, a non-owner never renews nor releases,
and every active lease survives a restart with its epoch.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from broker_server.domain.clock import ManualClock
from broker_server.domain.errors import DomainError
from broker_server.domain.lease_input import validate_acquire, validate_fenced
from broker_server.domain.leases import LeaseMode, LeaseRecord, LeaseState
from broker_server.runtime.leases import LeaseManager
from broker_server.store.sqlite import SqliteStore
from tests.leases.conftest import make_config

OWNERS = ("a", "b", "c")


class Pool:
    """The broker's PROXIED sessions; ``fail`` makes the next opens fail (gateway down)."""

    def __init__(self) -> None:
        self.open: set[tuple[str, int]] = set()
        self.fail = False

    async def open_session(self, gateway: str, client_id: int, lease_id: str) -> None:
        if self.fail:
            raise ConnectionRefusedError("gateway down")
        assert (gateway, client_id) not in self.open, "a second session on one client ID"
        self.open.add((gateway, client_id))

    async def close_session(self, gateway: str, client_id: int) -> None:
        self.open.discard((gateway, client_id))


class LeaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="leases-"))
        self.config = make_config(
            self.dir / "s.sqlite3", client_id_min=100, client_id_max=103, cooldown=3.0
        )
        self.clock = ManualClock()
        self.loop = asyncio.new_event_loop()
        self.pool = Pool()
        self.manager = self._start()
        self.known: dict[str, LeaseRecord] = {}  # every lease handed out, as last seen
        self.max_epoch: dict[int, int] = {}
        self.reopen_failed: set[str] = set()  # PROXIED leases restored while the gateway was down

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def _start(self) -> LeaseManager:
        manager = LeaseManager(
            self.config, SqliteStore(self.config.store.path), self.clock, sessions=self.pool
        )
        self._run(manager.start(sweeper=False))
        return manager

    def teardown(self) -> None:
        self._run(self.manager.stop())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _pick(self, index: int) -> LeaseRecord | None:
        if not self.known:
            return None
        # Insertion order, not the random UUIDs' order: hypothesis must replay the same choice.
        ids = list(self.known)
        return self.known[ids[index % len(ids)]]

    @rule(
        owner=st.sampled_from(OWNERS),
        preferred=st.none() | st.integers(100, 103),
        request_id=st.sampled_from(["", "", "k1", "k2"]),
        ttl=st.sampled_from([5.0, 10.0]),
        mode=st.sampled_from([LeaseMode.DIRECT, LeaseMode.PROXIED]),
    )
    def acquire(
        self, owner: str, preferred: int | None, request_id: str, ttl: float, mode: LeaseMode
    ) -> None:
        request = validate_acquire(
            self.config.lease_policy(),
            owner=owner,
            ttl=ttl,
            client_id=preferred,
            request_id=request_id,
            mode=mode,
        )
        before = {lease.client_id: lease for lease in self.manager.table.active()}
        free_before = self.manager.table.free_ids("paper")
        try:
            lease = self._run(self.manager.acquire(request))
        except DomainError as err:
            if err.reason == "NOT_CONNECTED":  # the PROXIED session did not open
                assert mode is LeaseMode.PROXIED and self.pool.fail
                assert {x.client_id for x in self.manager.table.active()} <= set(before)
                return
            if err.reason in {"LEASE_EXPIRED", "LEASE_RELEASED"}:  # a retry of an ended acquire
                assert request_id, err
                return
            assert err.reason in {"CLIENT_ID_EXHAUSTED", "IDEMPOTENCY_CONFLICT"}, err
            if err.reason == "CLIENT_ID_EXHAUSTED":
                assert len(before) + len(self.manager.table.quarantined()) == 4
                assert err.retry_after is not None and err.retry_after > 0
            return
        if lease.lease_id in self.known:  # a repeated request_id: the same lease, nothing taken
            assert request_id and lease.owner == owner
            assert {x.client_id for x in self.manager.table.active()} <= set(before) | {
                lease.client_id
            }
            return
        assert lease.client_id not in before
        if preferred is not None and preferred in free_before:
            assert lease.client_id == preferred
        assert lease.epoch > self.max_epoch.get(lease.client_id, 0)
        self.max_epoch[lease.client_id] = lease.epoch
        self.known[lease.lease_id] = lease

    @rule(
        index=st.integers(0, 50), stranger=st.booleans(), epoch_delta=st.sampled_from([0, 0, -1, 1])
    )
    def renew(self, index: int, stranger: bool, epoch_delta: int) -> None:
        lease = self._pick(index)
        if lease is None:
            return
        owner = "zz" if stranger else lease.owner
        before = self.manager.table.get(lease.lease_id)
        try:
            renewed = self._run(
                self.manager.renew(
                    validate_fenced(
                        self.manager.policy,
                        lease_id=lease.lease_id,
                        owner=owner,
                        epoch=max(1, lease.epoch + epoch_delta),
                    )
                )
            )
        except DomainError as err:
            if stranger:
                assert err.reason == "LEASE_NOT_OWNER"
            after = self.manager.table.get(lease.lease_id)
            assert after.expire_time == before.expire_time or after.state is not LeaseState.ACTIVE
            return
        assert not stranger, "a stranger renewed a lease"
        assert renewed.epoch == lease.epoch and max(1, lease.epoch + epoch_delta) == lease.epoch
        assert renewed.expire_time >= self.clock.wall() + renewed.ttl - 1e-6
        self.known[lease.lease_id] = renewed

    @rule(index=st.integers(0, 50), stranger=st.booleans())
    def release(self, index: int, stranger: bool) -> None:
        lease = self._pick(index)
        if lease is None:
            return
        owner = "zz" if stranger else lease.owner
        try:
            released = self._run(
                self.manager.release(
                    validate_fenced(
                        self.manager.policy, lease_id=lease.lease_id, owner=owner, epoch=lease.epoch
                    )
                )
            )
        except DomainError as err:
            if stranger:
                assert err.reason == "LEASE_NOT_OWNER"
            else:
                assert err.reason == "LEASE_EXPIRED"
            return
        assert not stranger, "a stranger released a lease"
        assert released.state is LeaseState.RELEASED
        holder = self.manager.table.holder("paper", lease.client_id)
        assert holder is None or holder.lease_id != lease.lease_id

    @rule(seconds=st.sampled_from([0.5, 1.0, 3.0, 6.0, 11.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self._run(self.manager.sweep())
        now = self.clock.wall()
        # A restart or a pause may give a lease its one grace past expire_time (docs/leases.md):
        # the broker ends it at its deadline, never later than one grace after expire_time.
        for lease in self.manager.table.active():
            assert lease.deadline > now
            assert lease.deadline <= lease.expire_time + lease.grace

    @rule(fail=st.booleans())
    def gateway_up_or_down(self, fail: bool) -> None:
        self.pool.fail = fail

    @rule()
    def restart(self) -> None:
        before = {(x.lease_id, x.client_id, x.epoch, x.owner) for x in self.manager.table.active()}
        resting = {q.client_id for q in self.manager.table.quarantined()}
        self._run(self.manager.stop())
        self.pool.open.clear()  # the broker's sessions die with its process
        self.manager = self._start()
        orphans = {
            lease.lease_id
            for lease in self.manager.table.active()
            if lease.mode is LeaseMode.PROXIED and lease.key not in self.pool.open
        }
        assert not orphans or self.pool.fail
        self.reopen_failed |= orphans
        after = {(x.lease_id, x.client_id, x.epoch, x.owner) for x in self.manager.table.active()}
        assert after == before
        assert {q.client_id for q in self.manager.table.quarantined()} == resting

    @invariant()
    def one_live_holder_per_client_id(self) -> None:
        active = self.manager.table.active()
        ids = [lease.client_id for lease in active]
        assert len(ids) == len(set(ids))
        assert not set(ids) & {q.client_id for q in self.manager.table.quarantined()}
        for lease in active:
            assert lease.epoch == self.manager.table.high_water("paper", lease.client_id)

    @invariant()
    def a_session_holds_its_id_until_closed(self) -> None:
        table = self.manager.table
        resting = {q.key for q in table.quarantined()}
        for key in self.pool.open:
            holder = table.holder(*key)
            # Never freed (nor leased to someone else) while the broker's session is open.
            assert key in resting or (holder is not None and holder.mode is LeaseMode.PROXIED)
        for lease in table.active():
            if lease.mode is LeaseMode.PROXIED and lease.key not in self.pool.open:
                # Only after a restart whose reopen failed (the gateway was down).
                assert lease.lease_id in self.reopen_failed


LeaseMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestLeaseMachine = LeaseMachine.TestCase
