"""What the lease core needs to know of the configuration, as plain frozen values.

The config sections convert themselves into these (``LeaseConfig.policy()``,
``GatewayConfig.lease_policy()``, ``BrokerConfig.lease_policy()``, the pattern of temporalio's
``_to_bridge_config()``), so the domain never imports the app's config and tests can build a
policy directly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeaseTimes:
    """Lease timing rules (from ``[leases]``)."""

    default_ttl: float = 30.0
    """TTL in seconds when a request sets none."""
    min_ttl: float = 5.0
    """Shortest TTL a request may ask for."""
    max_ttl: float = 300.0
    """Longest TTL a request may ask for."""
    quarantine_cooldown: float = 5.0
    """Seconds an ended lease's ID rests before it may be proven free."""
    sweep_interval: float = 0.5
    """Seconds between sweeps (added to retry hints: a freed ID waits for the next sweep)."""


@dataclass(frozen=True)
class GatewayIds:
    """One gateway as the lease core sees it: where it is and which client IDs it leases."""

    name: str
    """Gateway name."""
    host: str
    """Host of TWS / IB Gateway; gateways on one host:port share TWS's client limit."""
    port: int
    """API port."""
    client_id_min: int
    """First leasable client ID."""
    client_id_max: int
    """Last leasable client ID."""
    monitor_client_id: int
    """The broker's own monitor session's ID, never leased."""

    @property
    def address(self) -> str:
        """host:port."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class LeasePolicy:
    """Everything the lease core reads: timing rules and the gateways, in configuration order."""

    times: LeaseTimes
    """Timing rules."""
    gateways: tuple[GatewayIds, ...]
    """The configured gateways (at least one)."""
    default_gateway: str
    """Gateway used when a request names none."""

    def gateway(self, name: str) -> GatewayIds:
        """The gateway called ``name`` (KeyError when unknown)."""
        for gateway in self.gateways:
            if gateway.name == name:
                return gateway
        raise KeyError(name)

    @property
    def gateway_names(self) -> list[str]:
        """Names of the configured gateways, in order."""
        return [g.name for g in self.gateways]
