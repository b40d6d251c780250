"""What the lease runtime asks of the gateway, behind one object: may this gateway be leased
(the paper/live guard), and is this resting client ID free (the probe).

The connection layer answers through the ports of :mod:`broker_server.runtime.lease_ports`;
this module adds the policy around them: never probe an account the config does not allow,
bound each probe in time, and turn every failure into "cannot tell".
"""

from __future__ import annotations

import logging

from broker_server.aio import within
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.leases import LeaseMode, Quarantine
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.runtime.lease_ports import ClientIdProber, GatewayAccounts

log = logging.getLogger("ibbroker.leases")


class GatewayChecks:
    """The paper/live guard and the probe; either port may be None (tests, no gateway)."""

    def __init__(
        self,
        prober: ClientIdProber | None,
        accounts: GatewayAccounts | None,
        *,
        probe_timeout: float,
    ) -> None:
        self._prober = prober
        self._accounts = accounts
        self._probe_timeout = probe_timeout

    def account_mismatch(self, gateway: str) -> str | None:
        """Why ``gateway``'s accounts do not fit its config, or None (also when unknown)."""
        if self._accounts is None:
            return None
        try:
            return self._accounts.account_mismatch(gateway)
        except Exception:
            log.exception("lease_account_check_failed")
            return None

    def check_accounts(self, gateway: str) -> None:
        """The paper/live guard: a DIRECT lease hands a strategy an ID to log in with, so it is
        refused (FAILED_PRECONDITION, no retry: an operator must fix the config or the gateway)
        while the gateway's accounts are known not to fit its configuration."""
        problem = self.account_mismatch(gateway)
        if problem is not None:
            log_event(log, logging.WARNING, "lease_refused", gateway=gateway, reason=problem)
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.LEASE_ACCOUNT_MISMATCH,
                f"gateway {gateway!r} is not leased: {problem}",
                metadata={"gateway": gateway},
            )

    async def is_free(self, quarantine: Quarantine) -> bool | None:
        """Whether a resting ID is free: True (free), False (IB said 326: in use) or None
        (cannot tell: the probe failed, or it was not made because the accounts do not fit).
        A PROXIED lease's ID, or any ID without a prober, is free once its cool-down passed."""
        gateway, client_id = quarantine.key
        if quarantine.mode is not LeaseMode.DIRECT:
            return True
        problem = self.account_mismatch(gateway)
        if problem is not None:
            # Never log in to an account the config does not allow, not even to probe.
            log_event(
                log,
                logging.WARNING,
                "lease_probe_skipped",
                gateway=gateway,
                client_id=client_id,
                reason=problem,
            )
            return None
        if self._prober is None:
            return True
        try:
            return await within(self._prober.probe(gateway, client_id), self._probe_timeout)
        except Exception as err:
            log_event(
                log,
                logging.WARNING,
                "lease_probe_failed",
                gateway=gateway,
                client_id=client_id,
                error=repr(err),
            )
            return None
