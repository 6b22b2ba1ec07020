"""The benchmark harness of samhandling (issue 8): see bench/README.md.

Run from the repository root: `python -m bench.run quick` or `python -m bench.run full`.
"""
