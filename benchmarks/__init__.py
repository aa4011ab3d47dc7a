"""Benchmarks of deepdreamport: ratios measured side by side in one run.

``python -m benchmarks [--quick] [--json out.json]``; see docs/benchmarks.md (``--quick``: a smoke run on tinynet, under a minute).
"""
