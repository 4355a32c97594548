"""The bank (per-case rules over one index) and the worker (record in, hits out)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import store
from hashing import ImageHashes, MatchRule, hash_bytes, hash_file
from matcher import Bank, BankMatch, BruteForceIndex, FaissIndex, MatchWorker
from wire import HashRecord

# Two cases over the same photo (kodim06): "wide" with Meta's PDQ 31, "narrow" with PDQ 10
# and pHash off, so only the PDQ distance decides for it.
WIDE = store.Case("wide", "wide case", MatchRule(pdq_threshold=31, phash_threshold=6))
NARROW = store.Case("narrow", "narrow case", MatchRule(pdq_threshold=10, phash_threshold=-1))
LABELS = {"wide": {"k03": 2, "k06": 5}, "narrow": {"n06": 5, "n15": 14}}  # label -> kodak index


def references(case_id: str, label: str, hashes: ImageHashes, quality: int | None = None):
    """The pdq and phash rows of one reference photo (pHash borrows the PDQ quality)."""
    quality = hashes.pdq_quality if quality is None else quality
    return [
        store.Reference(case_id, label, "pdq", hashes.pdq.hex, quality),
        store.Reference(case_id, label, "phash", hashes.phash.hex, quality),
    ]


def jpeg(path: Path, quality: int, size: tuple[int, int] | None = None) -> bytes:
    """A near copy: ``path`` re-encoded as JPEG in memory, optionally resized."""
    picture = Image.open(path).convert("RGB")
    if size is not None:
        picture = picture.resize(size)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def query(hashes: ImageHashes) -> dict[str, str]:
    return {"pdq": hashes.pdq.hex, "phash": hashes.phash.hex}


@pytest.fixture
def bank_store(tmp_store: store.SqlStore, kodak: list[Path]) -> store.SqlStore:
    for case in (WIDE, NARROW):
        tmp_store.create_case(case)
        for label, n in LABELS[case.id].items():
            tmp_store.add_references(case.id, references(case.id, label, hash_file(kodak[n])))
    # Two references under the quality gate (50), which must never match: kodim20's real
    # hashes recorded with quality 49, and a smooth gradient whose real PDQ quality is 44.
    tmp_store.add_references("wide", references("wide", "k20-lowq", hash_file(kodak[19]), 49))
    tmp_store.add_references("wide", references("wide", "gradient", gradient()))
    return tmp_store


def gradient() -> ImageHashes:
    ramp = np.tile(np.linspace(0, 255, 256).astype(np.uint8), (256, 1))
    buffer = io.BytesIO()
    Image.fromarray(ramp).convert("RGB").save(buffer, "PNG")
    return hash_bytes(buffer.getvalue())


def bank_of(db: store.SqlStore, index_factory: type = FaissIndex) -> Bank:
    return Bank(db.list_cases(), db.references(), index_factory, db.bank_version())


def test_bank_leaves_out_references_below_the_quality_gate(bank_store: store.SqlStore) -> None:
    bank = bank_of(bank_store)
    assert len(bank_store.references()) == 12
    assert len(bank) == 8
    assert bank.count("pdq") == bank.count("phash") == 4


def test_near_copy_matches_its_case_and_label(
    bank_store: store.SqlStore, kodak: list[Path]
) -> None:
    near = hash_bytes(jpeg(kodak[2], 50))
    original = hash_file(kodak[2])
    assert near.sha256 != original.sha256
    assert bank_of(bank_store).match(query(near), near.pdq_quality) == [
        BankMatch("wide", "k03", "pdq", near.pdq - original.pdq, "original"),
        BankMatch("wide", "k03", "phash", near.phash - original.phash, "original"),
    ]


def test_narrow_case_matches_a_close_copy(bank_store: store.SqlStore, kodak: list[Path]) -> None:
    near = hash_bytes(jpeg(kodak[14], 50))
    distance = near.pdq - hash_file(kodak[14]).pdq
    assert distance <= 10
    assert bank_of(bank_store).match(query(near), near.pdq_quality) == [
        BankMatch("narrow", "n15", "pdq", distance, "original"),
    ]


def test_copy_beyond_one_case_threshold_matches_only_the_other(
    bank_store: store.SqlStore, kodak: list[Path]
) -> None:
    # kodim06 shrunk to 200x200 and re-encoded: about 24 PDQ bits away.
    near = hash_bytes(jpeg(kodak[5], 50, size=(200, 200)))
    distance = near.pdq - hash_file(kodak[5]).pdq
    assert 10 < distance <= 31
    matches = bank_of(bank_store).match(query(near), near.pdq_quality)
    assert {(m.case_id, m.label) for m in matches} == {("wide", "k06")}
    assert next(m for m in matches if m.algorithm == "pdq").distance == distance


def test_reference_below_quality_gate_never_matches(
    bank_store: store.SqlStore, kodak: list[Path]
) -> None:
    bank = bank_of(bank_store)
    exact = hash_file(kodak[19])  # the very picture of reference "k20-lowq"
    assert exact.pdq_quality == 100
    assert bank.match(query(exact), exact.pdq_quality) == []
    flat = gradient()
    assert flat.pdq_quality < 50
    # Even a candidate claiming full quality cannot match a low-quality reference.
    assert bank.match(query(flat), 100) == []
    assert bank.match(query(flat), None) == []


def test_candidate_below_quality_gate_never_matches(
    bank_store: store.SqlStore, kodak: list[Path]
) -> None:
    exact = hash_file(kodak[2])
    bank = bank_of(bank_store)
    assert bank.match(query(exact), 49) == []
    assert [m.label for m in bank.match(query(exact), 50)] == ["k03", "k03"]
    assert [m.algorithm for m in bank.match({"phash": exact.phash.hex}, None)] == ["phash"]


def test_unrelated_photo_matches_nothing(bank_store: store.SqlStore, kodak: list[Path]) -> None:
    bank = bank_of(bank_store)
    for n in (0, 7, 22):
        hashes = hash_file(kodak[n])
        assert bank.match(query(hashes), hashes.pdq_quality) == [], kodak[n].name


def test_brute_force_bank_gives_the_same_matches(
    bank_store: store.SqlStore, kodak: list[Path]
) -> None:
    faiss_bank, brute_bank = bank_of(bank_store), bank_of(bank_store, BruteForceIndex)
    candidates = [hash_file(p) for p in kodak]
    candidates += [
        hash_bytes(jpeg(kodak[n], 50, size)) for n in (2, 5, 14) for size in (None, (200, 200))
    ]
    matched = 0
    for hashes in candidates:
        got = faiss_bank.match(query(hashes), hashes.pdq_quality)
        assert got == brute_bank.match(query(hashes), hashes.pdq_quality)
        matched += bool(got)
    assert matched == 3 + 6  # kodim03, 06, 15 themselves and their six copies


def record_for(
    hashes: ImageHashes, url: str = "https://example.org/img/1.jpg", **changes
) -> HashRecord:
    record = HashRecord(
        image_url=url,
        page_url="https://example.org/page",
        site="example.org",
        case_id="wide",
        target_id=1,
        fetched_at="2026-11-23T02:43:43Z",
        http_status=200,
        content_sha256=hashes.sha256,
        width=hashes.width,
        height=hashes.height,
        pdq=hashes.pdq.hex,
        pdq_quality=hashes.pdq_quality,
        phash=hashes.phash.hex,
    )
    return dataclasses.replace(record, **changes)


def test_worker_writes_one_hit_and_updates_it(
    bank_store: store.SqlStore, kodak: list[Path]
) -> None:
    worker = MatchWorker(bank_store, bank_store)
    value = record_for(hash_bytes(jpeg(kodak[2], 50))).to_json()
    written = worker.handle("example.org", value)
    assert [(h.case_id, h.reference_label, h.algorithm) for h in written] == [
        ("wide", "k03", "pdq")
    ]
    [stored] = bank_store.hits()
    assert (stored.id, stored.seen_count, stored.status) == (written[0].id, 1, "pending")
    assert {m.algorithm for m in stored.matches} == {"pdq", "phash"}

    replay = worker.handle("example.org", value)
    assert [h.id for h in replay] == [stored.id]
    [replayed] = bank_store.hits()
    assert replayed.seen_count == 1, "a replayed record is the same sighting"

    later = json.loads(value)
    later["fetched_at"] = "2099-01-01T00:00:00Z"
    again = worker.handle("example.org", json.dumps(later).encode())
    assert [h.id for h in again] == [stored.id]
    [updated] = bank_store.hits()
    assert updated.id == stored.id and updated.seen_count == 2
    assert updated.last_seen == "2099-01-01T00:00:00Z"
    assert worker.stats["records"] == 3 and worker.stats["hits"] == 3
    assert worker.stats["bank_loads"] == 1 and worker.stats["dead_letters"] == 0


def malformed_values(valid: HashRecord) -> dict[str, tuple[bytes, str]]:
    """Bad raw records, each with a word its dead-letter reason must contain."""
    data = valid.to_dict()
    without_pdq = {k: v for k, v in data.items() if k != "pdq"}
    return {
        "not-json": (b"\x89PNG not json {", "JSON"),
        "missing-field": (json.dumps(without_pdq).encode(), "pdq"),
        "bad-hex": (json.dumps({**data, "phash": "zz" * 8}).encode(), "phash"),
        "wrong-schema": (json.dumps({**data, "schema_version": 2}).encode(), "schema_version"),
    }


@pytest.mark.parametrize("case", ["not-json", "missing-field", "bad-hex", "wrong-schema"])
def test_malformed_record_goes_to_dead_letters(
    bank_store: store.SqlStore, kodak: list[Path], case: str
) -> None:
    letters: list[tuple[bytes, str]] = []
    worker = MatchWorker(bank_store, bank_store, dead_letter=lambda v, r: letters.append((v, r)))
    value, word = malformed_values(record_for(hash_file(kodak[2])))[case]
    assert worker.handle("example.org", value) == []
    assert worker.stats["dead_letters"] == 1 and worker.stats["records"] == 1
    assert len(letters) == 1
    assert letters[0][0] == value
    assert word in letters[0][1]
    assert bank_store.hits() == []


def test_new_reference_reloads_the_bank(bank_store: store.SqlStore, kodak: list[Path]) -> None:
    worker = MatchWorker(bank_store, bank_store)
    value = record_for(hash_bytes(jpeg(kodak[22], 50)), url="https://example.org/23.jpg").to_json()
    assert worker.handle("example.org", value) == []
    assert worker.stats["bank_loads"] == 1
    assert worker.handle("example.org", value) == []
    assert worker.stats["bank_loads"] == 1  # unchanged store: no reload

    bank_store.add_references("wide", references("wide", "k23", hash_file(kodak[22])))
    written = worker.handle("example.org", value)
    assert worker.stats["bank_loads"] == 2
    assert [(h.case_id, h.reference_label) for h in written] == [("wide", "k23")]
    assert [h.reference_label for h in bank_store.hits()] == ["k23"]
