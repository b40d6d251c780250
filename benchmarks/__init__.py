"""Benchmarks run by ``make bench``; helpers live in modules not named ``bench_*``."""
