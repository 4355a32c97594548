"""Reupload Radar's command line, crawl orchestration and demo.

Consumes the user's commands; wires the stages (crawler, pipelines, matcher, store, bus)
together for embedded mode, and prints what they produced.
"""
