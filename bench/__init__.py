"""The benchmark suite: `python -m bench --scale small|large` (see README, "Benchmarks").

Not part of the installed distribution; it runs from a clone, next to `ledger/`.
"""
