"""Side-by-side measurements of regionsim, its peers and the baselines.

Run with ``python -m benchmarks``; the runner writes ``BENCHMARKS.md`` at the
repository root and ``benchmarks/results.json``.
"""
