"""A letterboxed or captioned copy reaches the bank through its trimmed PDQ: record, worker,
bank, and the wire format that carries the extra hash."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

import store
from hashing import hash_bytes
from matcher import Bank, MatchWorker
from pipelines.publish import record_of
from radar.references import hash_reference
from wire import HashRecord, RecordError

CASE = store.Case("c", "case")


def letterboxed(path: Path) -> bytes:
    with Image.open(path) as im:
        photo = im.convert("RGB")
    out = Image.new("RGB", (photo.width, photo.height + 100), "black")
    out.paste(photo, (0, 50))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def refs(kodak: list[Path]) -> list[store.Reference]:
    return hash_reference(CASE, kodak[4], "k05")


def record(data: bytes) -> HashRecord:
    # Only the fields record_of reads: the crawler's ImageItem grows in other issues.
    item = SimpleNamespace(
        image_url="http://site.test/a.jpg",
        page_url="http://site.test/",
        site="site.test",
        case_id="c",
        target_id=1,
        fetched_at="2026-11-23T00:00:00Z",
        http_status=200,
        hashes=hash_bytes(data),
        crawl_id="",
    )
    return record_of(item)  # type: ignore[arg-type]


def test_the_trimmed_hash_finds_the_letterboxed_copy(kodak: list[Path], refs: list) -> None:
    bank = Bank([CASE], refs)
    hashes = hash_bytes(letterboxed(kodak[4]))
    assert hashes.pdq_trimmed is not None
    plain = bank.match({"pdq": hashes.pdq.hex}, hashes.pdq_quality)
    assert not plain  # PDQ of the whole letterboxed picture is far from every variant
    matches = bank.match_image(hashes)
    assert [(m.label, m.algorithm) for m in matches] == [("k05", "pdq")]
    assert matches[0].variant.endswith("+candidate-trimmed") and matches[0].distance <= 31


def test_the_alternate_has_its_own_quality_gate(kodak: list[Path], refs: list) -> None:
    bank = Bank([CASE], refs)
    hashes = hash_bytes(letterboxed(kodak[4]))
    assert hashes.pdq_trimmed is not None
    assert not bank.match({}, 100, [(hashes.pdq_trimmed.hex, 49)])
    assert bank.match({}, 100, [(hashes.pdq_trimmed.hex, 50)])


def test_record_carries_the_trimmed_hash_and_the_worker_matches_it(
    kodak: list[Path], refs: list, tmp_store: store.SqlStore
) -> None:
    rec = record(letterboxed(kodak[4]))
    assert rec.pdq_trimmed is not None and rec.pdq_trimmed_quality is not None
    assert HashRecord.from_json(rec.to_json()) == rec
    tmp_store.create_case(CASE)
    tmp_store.add_references("c", refs)
    hits = MatchWorker(tmp_store, tmp_store).handle(rec.key, rec.to_json())
    assert [(h.reference_label, h.algorithm) for h in hits] == [("k05", "pdq")]
    assert any(m.variant.endswith("+candidate-trimmed") for m in hits[0].matches)


def test_records_without_a_border_keep_the_old_json(kodak: list[Path]) -> None:
    with Image.open(kodak[4]) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=90)
    rec = record(buf.getvalue())
    assert rec.pdq_trimmed is None
    data = json.loads(rec.to_json())
    assert "pdq_trimmed" not in data and "pdq_trimmed_quality" not in data
    assert HashRecord.from_dict(data) == rec


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"pdq_trimmed": "zz"}, "pdq"),
        ({"pdq_trimmed": "ab" * 32}, "come together"),
        ({"pdq_trimmed": "ab" * 32, "pdq_trimmed_quality": 101}, "0..100"),
        ({"pdq_trimmed": "ab" * 32, "pdq_trimmed_quality": "9"}, "wrong type"),
        ({"pdq_trimmed_quality": 50}, "come together"),
    ],
)
def test_malformed_trimmed_fields_are_rejected(
    kodak: list[Path], change: dict, reason: str
) -> None:
    with Image.open(kodak[4]) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=90)
    data = {**dataclasses.asdict(record(buf.getvalue())), **change}
    with pytest.raises(RecordError, match=reason):
        HashRecord.from_dict(data)
