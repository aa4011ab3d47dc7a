"""Benchmarks of deepdreamport: ratios measured side by side in one run.

``python -m benchmarks [--quick] [--json out.json]``; see README "benchmarks".
"""
