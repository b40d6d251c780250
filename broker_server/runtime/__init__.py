"""Orchestration between the pure domain, the store and I/O (IB sessions, timers)."""
