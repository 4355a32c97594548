"""Matching: hashed-image records in, hits out.

Consumes ``images.hashed.v1`` records (from the bus), compares them with every case's
reference bank through an exact binary index (FAISS, with a brute-force twin), and
produces :class:`wire.Hit` documents into the hit store. The bank's index is exact
multi-index hashing in C (:mod:`matcher.mih`), with FAISS and brute force as its twins.
"""

from __future__ import annotations

from matcher.bank import Bank, BankMatch
from matcher.index import BinaryIndex, BruteForceIndex, FaissIndex
from matcher.mih import MihIndex, default_index
from matcher.worker import MatchWorker, hits_for

__all__ = [
    "Bank",
    "BankMatch",
    "BinaryIndex",
    "BruteForceIndex",
    "FaissIndex",
    "MatchWorker",
    "MihIndex",
    "default_index",
    "hits_for",
]
