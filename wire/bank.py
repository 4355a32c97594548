"""Bank changes: the entries of the compacted ``banks.changed.v1`` topic.

Every matcher replica reads the whole topic to build its bank, so a case rule or a
reference added anywhere reaches all of them. An entry is a case (its match rule) or a
reference hash; its key identifies it, so compaction keeps the latest version of each and
a tombstone (a null value) deletes it.
"""

from __future__ import annotations

import json
from typing import Any

from wire.records import SCHEMA_VERSION, RecordError, check_version, loads, require

BANK_KINDS = ("case", "reference")


def bank_key(kind: str, fields: dict[str, Any]) -> str:
    """The compaction key of an entry: one per case, one per reference hash."""
    if kind == "case":
        return f"case/{fields['id']}"
    if kind == "reference":
        return "ref/{case_id}/{algorithm}/{hash}/{label}".format(**fields)
    raise RecordError(f"unknown bank entry kind {kind!r}")


def encode_bank_entry(kind: str, fields: dict[str, Any]) -> tuple[str, bytes]:
    """``(key, value)`` for publishing; ``fields`` is a Case or Reference as a dict."""
    body = {"schema_version": SCHEMA_VERSION, "kind": kind, **fields}
    return bank_key(kind, fields), json.dumps(body, sort_keys=True).encode()


def decode_bank_entry(raw: bytes) -> tuple[str, dict[str, Any]]:
    """``(kind, fields)``; raise RecordError for anything else."""
    data = loads(raw)
    if not isinstance(data, dict):
        raise RecordError("bank entry is not a JSON object")
    check_version(data)
    kind = require(data, "kind", str)
    if kind not in BANK_KINDS:
        raise RecordError(f"unknown bank entry kind {kind!r}")
    return kind, {k: v for k, v in data.items() if k not in ("schema_version", "kind")}
