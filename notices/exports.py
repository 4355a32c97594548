"""Per-case exports of hits and notices (CSV or JSON), for a hotline's records and its
partners: where copies were found and what was asked of whom, never whose they are.

A reference appears as its opaque id (:func:`store.hashlists.reference_ids`), never its
label. Left out on purpose: hit ids (a hash of case, label and URL, so a guessed name
could be checked against one), a notice's typed fields (free text that may name the
victim or the notifier), its recipient's address and the user who drafted it. No image
bytes exist to export: hits hold URLs, hashes of the content and the match evidence.
Pure functions over store records and text streams.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from notices.storage import Notice
from wire.records import Hit

HIT_COLUMNS = (
    "reference",
    "status",
    "algorithm",
    "distance",
    "matches",
    "image_url",
    "page_url",
    "site",
    "first_seen",
    "last_seen",
    "seen_count",
    "fetched_at",
    "http_status",
    "content_sha256",
    "crawl_id",
)
NOTICE_COLUMNS = (
    "notice",
    "follows",
    "sequence",
    "host",
    "regime",
    "level",
    "status",
    "created_at",
    "sent_at",
    "acknowledged_at",
    "closed_at",
)
NOTICE_URL_COLUMNS = (
    "url",
    "page_url",
    "reference",
    "distance",
    "content_sha256",
    "state",
    "last_checked",
    "removed_at",
    "reappeared_at",
)
UNKNOWN_REFERENCE = "ref-unknown"  # a label with no reference rows (rows are never deleted)


def hit_dicts(hits: Iterable[Hit], ids: Mapping[str, str]) -> list[dict[str, Any]]:
    """One dict per hit with :data:`HIT_COLUMNS` (``matches``: the list of algorithm,
    distance and variant that matched); ``ids`` maps labels to reference ids."""
    rows = []
    for hit in hits:
        data = {k: getattr(hit, k) for k in HIT_COLUMNS if k not in ("reference", "matches")}
        data["reference"] = ids.get(hit.reference_label, UNKNOWN_REFERENCE)
        data["matches"] = [
            {"algorithm": m.algorithm, "distance": m.distance, "variant": m.variant}
            for m in hit.matches
        ]
        rows.append(data)
    return rows


def notice_dicts(
    notices: Iterable[Notice], case_id: str, ids: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The notices that name a URL of ``case_id``, each with :data:`NOTICE_COLUMNS` and
    ``urls``: that case's URLs in it (:data:`NOTICE_URL_COLUMNS`). ``follows`` is the
    notice a re-notice or escalation follows up (None for a first notice)."""
    rows = []
    for notice in notices:
        urls = [u for u in notice.urls if u.case_id == case_id]
        if not urls:
            continue
        data: dict[str, Any] = {"notice": notice.id, "follows": notice.parent_id}
        data.update({k: getattr(notice, k) for k in NOTICE_COLUMNS if k not in data})
        data["urls"] = [
            {
                **{k: getattr(u, k) for k in NOTICE_URL_COLUMNS if k != "reference"},
                "reference": ids.get(u.reference_label, UNKNOWN_REFERENCE),
            }
            for u in urls
        ]
        rows.append(data)
    return rows


def _cell(value: Any) -> Any:
    return "" if value is None else value


def write_hits_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> None:
    """:func:`hit_dicts` as CSV; ``matches`` as ``algorithm:variant:distance`` joined by
    spaces."""
    writer = csv.writer(out)
    writer.writerow(HIT_COLUMNS)
    for row in rows:
        matches = " ".join(
            f"{m['algorithm']}:{m['variant']}:{m['distance']}" for m in row["matches"]
        )
        writer.writerow([matches if k == "matches" else _cell(row[k]) for k in HIT_COLUMNS])


def write_notices_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> None:
    """:func:`notice_dicts` as CSV: one line per URL of a notice, the notice's columns
    repeated."""
    writer = csv.writer(out)
    writer.writerow(NOTICE_COLUMNS + NOTICE_URL_COLUMNS)
    for row in rows:
        head = [_cell(row[k]) for k in NOTICE_COLUMNS]
        for url in row["urls"]:
            writer.writerow(head + [_cell(url[k]) for k in NOTICE_URL_COLUMNS])


def write_json(case_id: str, key: str, rows: list[dict[str, Any]], out: TextIO) -> None:
    """``{"case": case_id, key: rows}``, indented, keys sorted."""
    json.dump({"case": case_id, key: rows}, out, indent=2, sort_keys=True)
    out.write("\n")
