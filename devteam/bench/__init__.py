"""Benchmarks: solve rate, tokens, time, sandbox latency."""
