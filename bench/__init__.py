"""Benchmarks of issue 6: detection quality, matching speed, hashing speed, end to end.

Run ``python -m bench`` (``make bench``) for the full figures or ``python -m bench
--quick`` for a seconds-long smoke run (part of ``make test``). Each benchmark measures
ours against its anchor in the same process on the same data and returns records
``{"bench", "metric", "ours", "anchor", "anchor_name", "ratio", "params"}``; the runner
writes ``bench/results/latest.json``, ``latest.md`` and the PNG plots.
"""
