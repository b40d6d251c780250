"""Tests of the IB Gateway simulator (broker_server.sim)."""
