"""Matching: hashed-image records in, hits out.

Consumes ``images.hashed.v1`` records (from the bus), compares them with every case's
reference bank through an exact binary index (FAISS, with a brute-force twin), and
produces :class:`wire.Hit` documents into the hit store.
"""

from __future__ import annotations

from matcher.bank import Bank, BankMatch
from matcher.index import BinaryIndex, BruteForceIndex, FaissIndex
from matcher.worker import MatchWorker, hits_for

__all__ = [
    "Bank",
    "BankMatch",
    "BinaryIndex",
    "BruteForceIndex",
    "FaissIndex",
    "MatchWorker",
    "hits_for",
]
