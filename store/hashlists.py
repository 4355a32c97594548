"""Exchanged hash lists: the CSV, JSON and plain-text lists hotlines send each other,
read into a case's :class:`~store.models.Reference` rows. Pure functions, no I/O."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hashing import parse_hash
from store.models import Reference


def _entry(case_id: str, data: dict[str, Any], where: str, n: int) -> list[Reference]:
    label = str(data.get("label") or f"imported-{n}").strip()
    quality_raw = data.get("quality")
    try:
        quality = None if quality_raw in (None, "") else int(quality_raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 is a float inf
        raise ValueError(f"{where}: quality {quality_raw!r} is not a whole number") from None
    if quality is not None and not 0 <= quality <= 100:
        raise ValueError(f"{where}: quality {quality} is not 0..100")
    variant = str(data.get("variant") or "original")
    rows = []
    algorithm = data.get("algorithm")
    plain = data.get("hash")
    pairs = [(str(algorithm or "pdq"), plain)] if plain else []
    pairs += [(name, data[name]) for name in ("pdq", "phash") if data.get(name)]
    if not pairs:
        raise ValueError(f"{where}: no hash (expected a 'pdq', 'phash' or 'hash' value)")
    for name, value in pairs:
        try:
            hex_value = parse_hash(name, str(value)).hex
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        rows.append(Reference(case_id, label, name, hex_value, quality, variant, "import"))
    return rows


def parse_hash_list(case_id: str, text: str, fmt: str = "auto") -> list[Reference]:
    """Parse an exchanged hash list. Formats:

    * CSV with a header naming some of ``pdq``, ``phash``, ``hash`` (+ ``algorithm``),
      ``label``, ``quality``, ``variant`` (our own export reads back);
    * header-less CSV / plain text: ``PDQ_HEX[,label[,quality]]`` per line, ``#`` comments;
    * JSON: a list of hex strings or of objects with those keys, or ``{"references": [...]}``.

    All or nothing: raises ValueError naming the first bad line or entry.
    """
    stripped = text.lstrip()
    if fmt == "auto":
        fmt = "json" if stripped[:1] in ("[", "{") else "csv"
    rows: list[Reference] = []
    if fmt == "json":
        try:
            data = json.loads(text)
        except RecursionError:
            raise ValueError("not valid JSON: nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, and an integer over the digit limit
            raise ValueError(f"not valid JSON: {str(exc)[:200]}") from None
        if isinstance(data, dict):
            data = data.get("references", data.get("hashes"))
        if not isinstance(data, list):
            raise ValueError("JSON hash list must be a list or have a 'references' list")
        for n, entry in enumerate(data, 1):
            item = {"hash": entry} if isinstance(entry, str) else entry
            if not isinstance(item, dict):
                raise ValueError(f"entry {n}: expected a hex string or an object")
            rows += _entry(case_id, item, f"entry {n}", n)
    elif fmt == "csv":
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines:
            raise ValueError("hash list is empty")
        first = [c.strip().lower() for c in next(csv.reader([lines[0]]))]
        header = first if {"pdq", "phash", "hash"} & set(first) else None
        reader = csv.reader(io.StringIO("\n".join(lines[1:] if header else lines)))
        for n, cells in enumerate(reader, 2 if header else 1):
            cells = [c.strip() for c in cells]
            keys = header or ["hash", "label", "quality"]
            if len(cells) > len(keys):
                raise ValueError(f"line {n}: {len(cells)} columns, expected at most {len(keys)}")
            rows += _entry(case_id, dict(zip(keys, cells, strict=False)), f"line {n}", n)
    else:
        raise ValueError(f"unknown hash list format {fmt!r} (use csv or json)")
    if not rows:
        raise ValueError("hash list is empty")
    return rows
