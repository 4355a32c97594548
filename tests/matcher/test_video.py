"""Videos through the matcher: a slideshow of reference photos is found frame by frame, a
re-encode of a reference video by vPDQ's rule (mirrored too), a cropped, a mirrored and a
cropped-and-mirrored clip through the photo references' variants; hits name the frames
and their times. Clips are made in memory from the benign Kodak photos
(tests/videos.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import store
from hashing import MatchRule
from hashing.video import hash_video_bytes
from matcher import MatchWorker
from radar.references import hash_reference, video_reference_rows
from tests.videos import edit, slideshow
from wire import HashRecord, RecordError
from wire.records import MAX_RECORD_BYTES, video_fields

CASE = store.Case("c1", "video case", MatchRule())


@pytest.fixture(scope="module")
def clips(kodak: list[Path]) -> dict[str, bytes]:
    reference_video = slideshow([kodak[9], kodak[14], kodak[19]], seconds_each=2.0)
    leak = slideshow([kodak[0], kodak[11], kodak[4]], seconds_each=2.0)
    return {
        "reference": reference_video,
        "reupload": edit(reference_video, "scale=256:256", crf=36),
        "mirrored-reupload": edit(reference_video, "hflip,scale=256:256", crf=36),
        "leak": leak,
        "mirrored": edit(leak, "hflip,scale=288:288", crf=32),
        "cropped": edit(leak, "crop=iw*0.92:ih*0.92,scale=288:288", crf=32),
        # the demo's "crop8+mirror" edit (radar.demo.videos.DEMO_EDITS), issue 14
        "cropped-mirrored": edit(leak, "crop=iw*0.92:ih*0.92,hflip,scale=288:288", crf=32),
        "unrelated": slideshow([kodak[1], kodak[2]], seconds_each=2.0),
    }


@pytest.fixture(scope="module")
def reference_rows(kodak: list[Path], clips: dict[str, bytes]) -> list[store.Reference]:
    """Two reference photos (every variant: ~3 s each) and one reference video."""
    rows = hash_reference(CASE, kodak[0], "k01") + hash_reference(CASE, kodak[4], "k05")
    return rows + video_reference_rows(CASE, "vid1", clips["reference"])


@pytest.fixture
def worker(tmp_store: store.SqlStore, reference_rows: list[store.Reference]) -> MatchWorker:
    tmp_store.create_case(CASE)
    tmp_store.add_references(CASE.id, reference_rows)
    return MatchWorker(tmp_store, tmp_store)


def record(data: bytes, url: str = "http://127.0.0.1:8000/v.mp4") -> HashRecord:
    fields = video_fields(hash_video_bytes(data))
    return HashRecord(
        image_url=url,
        page_url="http://127.0.0.1:8000/",
        site="127.0.0.1",
        case_id=CASE.id,
        target_id=1,
        fetched_at="2026-12-03T12:00:00Z",
        http_status=200,
        **fields,
    )


def _times(evidence: list) -> list[float]:
    return [float(e.variant.rsplit(" at ", 1)[1].rstrip("s")) for e in evidence]


def test_reference_video_is_stored_as_frame_hashes(clips: dict[str, bytes]) -> None:
    rows = video_reference_rows(CASE, "vid1", clips["reference"])
    assert 3 <= len(rows) <= 6  # one a second, repeats of a still dropped
    assert all(r.algorithm == "pdq" and r.variant.startswith("frame@") for r in rows)
    assert rows[0].variant == "frame@0.000"


def test_slideshow_of_reference_photos_is_found_frame_by_frame(
    worker: MatchWorker, clips: dict[str, bytes]
) -> None:
    hits = {h.reference_label: h for h in worker.match(record(clips["leak"]))}
    assert set(hits) == {"k01", "k05"}
    assert hits["k01"].algorithm == "pdq" and hits["k01"].distance <= 31
    assert all(t < 2.0 for t in _times(hits["k01"].matches))
    assert all(4.0 <= t < 6.0 for t in _times(hits["k05"].matches))
    assert hits["k05"].image_url.endswith("/v.mp4")


def test_reencoded_reference_video_matches_by_vpdq(
    worker: MatchWorker, clips: dict[str, bytes]
) -> None:
    hits = worker.match(record(clips["reupload"]))
    assert [(h.reference_label, h.algorithm) for h in hits] == [("vid1", "vpdq")]
    times = _times(hits[0].matches)
    assert times == sorted(times) and times[0] == 0.0
    assert all(m.variant.startswith("frame@") for m in hits[0].matches)
    assert not any("+candidate-mirrored" in m.variant for m in hits[0].matches)


def test_mirrored_reference_video_matches_by_vpdq_mirrored_back(
    worker: MatchWorker, clips: dict[str, bytes]
) -> None:
    hits = worker.match(record(clips["mirrored-reupload"]))
    assert [(h.reference_label, h.algorithm) for h in hits] == [("vid1", "vpdq")]
    assert all(
        m.variant.startswith("frame@") and "+candidate-mirrored at " in m.variant
        for m in hits[0].matches
    )


@pytest.mark.parametrize(("clip", "variant"), [("mirrored", "flip-x"), ("cropped", "crop-")])
def test_mirrored_or_cropped_clip_found_through_photo_variants(
    worker: MatchWorker, clips: dict[str, bytes], clip: str, variant: str
) -> None:
    hits = {h.reference_label: h for h in worker.match(record(clips[clip]))}
    assert set(hits) == {"k01", "k05"}
    assert all(m.variant.startswith(variant) for m in hits["k01"].matches)
    assert not any("+candidate-mirrored" in m.variant for m in hits["k01"].matches)


def test_cropped_and_mirrored_clip_found_through_mirrored_frames(
    worker: MatchWorker, clips: dict[str, bytes]
) -> None:
    # The frames' mirror estimates (hashing.PdqHash.mirror_estimate) reach the photos'
    # upright crop grid; the bank holds no mirrored crops.
    hits = {h.reference_label: h for h in worker.match(record(clips["cropped-mirrored"]))}
    assert set(hits) == {"k01", "k05"}
    for label, first, last in (("k01", 0.0, 2.0), ("k05", 4.0, 6.0)):
        assert hits[label].algorithm == "pdq" and hits[label].distance <= 31
        assert all(first <= t < last for t in _times(hits[label].matches))
        for m in hits[label].matches:
            variant = m.variant.rsplit(" at ", 1)[0]
            assert variant.startswith("crop-") and variant.endswith("+candidate-mirrored")


def test_unrelated_video_gives_no_hit(worker: MatchWorker, clips: dict[str, bytes]) -> None:
    assert worker.match(record(clips["unrelated"])) == []


def test_one_frame_of_a_reference_video_is_not_a_video_match(
    worker: MatchWorker, clips: dict[str, bytes], kodak: list[Path]
) -> None:
    # a clip showing one of the reference video's three pictures: under 80% of it
    part = slideshow([kodak[9], kodak[1]], seconds_each=2.0)
    assert worker.match(record(part)) == []


def test_video_record_round_trips_and_is_validated(clips: dict[str, bytes]) -> None:
    rec = record(clips["leak"])
    raw = rec.to_json()
    assert len(raw) < MAX_RECORD_BYTES
    assert HashRecord.from_json(raw) == rec
    assert [f.timestamp for f in rec.frames().frames] == sorted(
        f.timestamp for f in rec.frames().frames
    )
    image = dataclasses.replace(rec, video_frames=(), video_duration=None, phash="0" * 16)
    assert "video_frames" not in image.to_dict()
    with pytest.raises(RecordError):  # an image record still needs its pHash
        HashRecord.from_dict({**image.to_dict(), "phash": ""})
    for bad in (["zz,1,0.0"], ["0" * 64 + ",1"], [1], "x"):
        with pytest.raises(RecordError):
            HashRecord.from_dict({**rec.to_dict(), "video_frames": bad})
