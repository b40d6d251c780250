"""Observability of a running broker: RPC metrics and spans, the gauges read from the runtime's
snapshots, the Prometheus ``/metrics`` listener, OTLP trace export, and the operator's terminal
views (``ibbroker status`` / ``ibbroker top``). See docs/observability.md.

Sits between the gRPC edge (server, app, cli), which wires it in, and the services/runtime it
reads; it changes nothing in them.
"""
