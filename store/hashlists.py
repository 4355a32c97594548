"""Exchanged hash lists, read and written: the lists hotlines send each other.

Read (:func:`parse_hash_list`): CSV, JSON, plain text and python-threatexchange's signal
files, into a case's :class:`~store.models.Reference` rows, all or nothing. Written
(:func:`export_rows` and the ``write_*`` functions): a case's references under opaque
reference ids, never their labels. Pure functions over text streams, no store access.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from hashing import ALGORITHMS, parse_hash
from store.models import Case, Reference, Target

FORMATS = ("auto", "csv", "json", "te")  # te: python-threatexchange's signal files
EXPORT_FORMATS = ("csv", "json", "te")
# A python-threatexchange signal line: its signal type's name, blanks, the signal; what
# follows (metadata of `threatexchange dataset -P`) is ignored. Its PDQ is "pdq".
_TE_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)[ \t]+([^ \t,]+)(?:[ \t].*)?")
_HEXISH = re.compile(r"[0-9a-fA-F]{8,}")  # a cell meant as a hash: never a column name
# Columns that make a first line a header (signal_str: `threatexchange dataset --csv`).
_HASH_COLUMNS = {"pdq", "phash", "hash", "signal_str"}
EXPORT_COLUMNS = ("reference", "algorithm", "hash", "quality", "variant")


def _entry(case_id: str, data: dict[str, Any], where: str) -> list[Reference]:
    """One list entry's rows. ``reference`` (our exports' opaque id) and ``signal_type``
    / ``signal_str`` (python-threatexchange's CSV) stand for ``label`` and
    ``algorithm`` / ``hash``. An entry without a label is named for its first hash,
    ``imported-<16 hex digits>``: one reference per hash, the same on every import."""
    quality_raw = data.get("quality")
    try:
        quality = None if quality_raw in (None, "") else int(quality_raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 is a float inf
        raise ValueError(f"{where}: quality {quality_raw!r} is not a whole number") from None
    if quality is not None and not 0 <= quality <= 100:
        raise ValueError(f"{where}: quality {quality} is not 0..100")
    variant = str(data.get("variant") or "original")
    algorithm = data.get("algorithm") or data.get("signal_type")
    plain = data.get("hash") or data.get("signal_str")
    pairs = [(str(algorithm or "pdq").strip().lower(), plain)] if plain else []
    pairs += [(name, data[name]) for name in ("pdq", "phash") if data.get(name)]
    if not pairs:
        raise ValueError(f"{where}: no hash (expected a 'pdq', 'phash' or 'hash' value)")
    hashes = []
    for name, value in pairs:
        try:
            hashes.append((name, parse_hash(name, str(value)).hex))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    given = str(data.get("label") or data.get("reference") or "").strip()
    label = given or f"imported-{hashes[0][1][:16]}"
    return [Reference(case_id, label, a, h, quality, variant, "import") for a, h in hashes]


def _cells(line: str, where: str) -> list[str]:
    try:
        return [c.strip() for c in next(csv.reader([line]), [])]
    except csv.Error as exc:  # a field over the csv module's size limit
        raise ValueError(f"{where}: {exc}") from None


def _te_line(case_id: str, line: str, where: str) -> list[Reference] | None:
    """A ``<signal type> <hash> [...]`` line's rows; None if the line is not one."""
    match = _TE_LINE.fullmatch(line)
    if match is None or _HEXISH.fullmatch(match[1]):
        return None
    kind = match[1].lower()
    if kind not in ALGORITHMS:
        raise ValueError(
            f"{where}: signal type {match[1][:40]!r} cannot be imported "
            f"(only {' and '.join(ALGORITHMS)})"
        )
    return _entry(case_id, {"algorithm": kind, "hash": match[2]}, where)


def _data_line(case_id: str, line: str, where: str, fmt: str) -> list[Reference]:
    """A header-less line: ``<signal type> <hash> [...]`` (python-threatexchange), or CSV
    ``[ALGORITHM,]HASH[,label[,quality]]``; with ``fmt`` te, a signal line or a bare hash.
    """
    rows = _te_line(case_id, line, where)
    if rows is not None:
        return rows
    if fmt == "te" and (len(line.split()) > 1 or "," in line):
        raise ValueError(f"{where}: expected '<signal type> <hash>', e.g. 'pdq <64 hex digits>'")
    cells = _cells(line, where)
    keys = ["hash", "label", "quality"]
    if cells and cells[0].lower() in ALGORITHMS:
        keys.insert(0, "algorithm")
    if len(cells) > len(keys):
        raise ValueError(f"{where}: {len(cells)} columns, expected at most {len(keys)}")
    return _entry(case_id, dict(zip(keys, cells, strict=False)), where)


def _header(line: str, where: str) -> list[str] | None:
    """The column names if ``line`` is a header: it names a hash column and holds no cell
    meant as a hash. Called only for a first line that does not parse as data."""
    cells = [c.lower() for c in _cells(line, where)]
    if _HASH_COLUMNS & set(cells) and not any(_HEXISH.fullmatch(c) for c in cells):
        return cells
    return None


def _parse_lines(case_id: str, text: str, fmt: str) -> list[Reference]:
    # Numbered as an editor numbers them; blank lines and '#' comments are skipped.
    lines = [(i, ln.strip()) for i, ln in enumerate(text.split("\n"), 1)]
    lines = [(i, ln) for i, ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise ValueError("hash list is empty")
    rows: list[Reference] = []
    header: list[str] | None = None
    for number, line in lines:
        where = f"line {number}"
        if header is not None:
            cells = _cells(line, where)
            if len(cells) > len(header):
                raise ValueError(f"{where}: {len(cells)} columns, expected at most {len(header)}")
            rows += _entry(case_id, dict(zip(header, cells, strict=False)), where)
            continue
        try:
            rows += _data_line(case_id, line, where, fmt)
        except ValueError:
            # A first line is a header only if it does not parse as data: a one-line
            # "pdq,<hex>" list is one hash, not a header.
            first = number == lines[0][0]
            header = _header(line, where) if first and fmt == "csv" else None
            if header is None:
                raise
    return rows


def parse_hash_list(case_id: str, text: str, fmt: str = "auto") -> list[Reference]:
    """Parse an exchanged hash list. Formats (``fmt``, see :data:`FORMATS`):

    * ``csv``: with a header naming some of ``pdq``, ``phash``, ``hash`` (+
      ``algorithm``), ``label`` (or ``reference``: our exports), ``quality``, ``variant``,
      or python-threatexchange's ``signal_type``, ``signal_str`` (other columns are
      ignored); a first line is a header only if it does not parse as data. Header-less:
      ``[ALGORITHM,]HASH[,label[,quality]]`` per line, or python-threatexchange's
      ``pdq <hex>`` lines (more blank-separated fields after the hash are ignored);
    * ``te``: python-threatexchange's signal files only: ``pdq <hex>`` lines, or bare
      hashes (a file whose collaboration names the signal type);
    * ``json``: a list of hex strings or of objects with those keys, or
      ``{"references": [...]}``;
    * ``auto``: ``json`` if the text starts with ``[`` or ``{``, else ``csv``.

    Blank lines and ``#`` comments are skipped. All or nothing: raises ValueError naming
    the first bad line (as numbered in the file) or entry.
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
            rows += _entry(case_id, item, f"entry {n}")
    elif fmt in ("csv", "te"):
        rows = _parse_lines(case_id, text, fmt)
    else:
        raise ValueError(f"unknown hash list format {fmt!r} (use {', '.join(FORMATS)})")
    if not rows:
        raise ValueError("hash list is empty")
    return rows


# -- export ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExportRow:
    """One exported hash: the reference's opaque id instead of its label."""

    reference: str
    algorithm: str
    hash: str
    quality: int | None
    variant: str

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in EXPORT_COLUMNS}


def reference_ids(refs: Iterable[Reference]) -> dict[str, str]:
    """Each reference's opaque id, by label: ``ref-<n>``, ``n`` the store id of the
    reference's first hash row. Stable (rows are never renumbered or deleted) and not
    derived from the label, so an export names a reference without saying whose it is.
    ``refs`` are one case's rows as the store returns them (with their ids)."""
    first: dict[str, int] = {}
    for ref in refs:
        if ref.label not in first or ref.id < first[ref.label]:
            first[ref.label] = ref.id
    return {label: f"ref-{n}" for label, n in first.items()}


def _own_hashes(rows: list[Reference]) -> list[Reference]:
    """One hash for a reference: the PDQ of its original (else its first original hash);
    a reference with no ``original`` row (a video's frames, an imported variant list)
    keeps its PDQ rows, all of them for a video, whose frames together are its hash."""
    originals = [r for r in rows if r.variant == "original"]
    if originals:
        pdq = [r for r in originals if r.algorithm == "pdq"]
        return (pdq or originals)[:1]
    return [r for r in rows if r.algorithm == "pdq"] or rows[:1]


def export_rows(refs: Iterable[Reference], variants: bool = False) -> list[ExportRow]:
    """The rows an export writes for one case's references, in store order (by id): every hash
    with ``variants``, else one per reference (:func:`_own_hashes`). Never a label."""
    refs = sorted(refs, key=lambda r: r.id)
    ids = reference_ids(refs)
    by_label: dict[str, list[Reference]] = {}
    for ref in refs:
        by_label.setdefault(ref.label, []).append(ref)
    chosen = refs if variants else [r for rows in by_label.values() for r in _own_hashes(rows)]
    chosen.sort(key=lambda r: r.id)  # store order: a reference's hashes in the order added
    return [ExportRow(ids[r.label], r.algorithm, r.hash, r.quality, r.variant) for r in chosen]


def write_csv(rows: Iterable[ExportRow], out: TextIO) -> None:
    """CSV with the header :data:`EXPORT_COLUMNS`; :func:`parse_hash_list` reads it back
    (the ``reference`` column becomes the importing case's label)."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        writer.writerow(
            [r.reference, r.algorithm, r.hash, "" if r.quality is None else r.quality, r.variant]
        )


def write_te(rows: Iterable[ExportRow], out: TextIO) -> int:
    """python-threatexchange's signal file: ``pdq <hex>`` per distinct PDQ hash, nothing
    else (its file exchange reads a line as signal type, one space, the signal). pHash
    rows are left out: python-threatexchange has no pHash. Returns the lines written."""
    seen: set[str] = set()
    for r in rows:
        if r.algorithm == "pdq" and r.hash not in seen:
            seen.add(r.hash)
            out.write(f"pdq {r.hash}\n")
    return len(seen)


def case_export(case: Case, rows: Iterable[ExportRow], targets: Iterable[Target]) -> dict[str, Any]:
    """The JSON export of a case: its id, match rule and variant setting (not its title,
    which is free text that may name the victim), its hashes and its targets (sites'
    URLs and crawl bounds). :func:`parse_hash_list` reads its ``references`` back."""
    data = case.to_dict()
    return {
        "case": {k: data[k] for k in ("id", "rule", "dihedral", "priority")},
        "references": [r.to_dict() for r in rows],
        "targets": [t.to_dict() for t in targets],
    }
