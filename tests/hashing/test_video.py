"""vPDQ of video bytes in memory: frame counts, timestamps, caps, hostile input, and the
edits of the demo (re-encoded, cropped, mirrored) staying close. Videos are made by
ffmpeg from the benign Kodak photos (tests/videos.py), in memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from hashing.frames import VideoFrame, VideoHashes, VideoMatchRule
from hashing.pdq import pdq
from hashing.video import VideoError, VideoLimits, hash_video_bytes, naive_video_hashes
from tests.videos import edit, slideshow


@pytest.fixture(scope="module")
def photos(kodak: list[Path]) -> list[Path]:
    return [kodak[0], kodak[4], kodak[22]]


@pytest.fixture(scope="module")
def show(photos: list[Path]) -> bytes:
    """3 photos, 2 s each, 10 frames a second: 6 s, 60 frames."""
    return slideshow(photos, seconds_each=2.0, fps=10)


@pytest.fixture(scope="module")
def show_hashes(show: bytes) -> VideoHashes:
    return hash_video_bytes(show)


def _photo_pdq(path: Path, *, mirror: bool = False, crop: float = 0.0, side: int = 320):
    picture = Image.open(path).convert("RGB").resize((side, side))
    if crop:
        inset = round(side * crop / 2)
        picture = picture.crop((inset, inset, side - inset, side - inset))
    if mirror:
        picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return pdq(picture)[0]


def test_one_frame_a_second_with_its_time(show: bytes, show_hashes: VideoHashes) -> None:
    frames = show_hashes.frames
    assert [f.timestamp for f in frames] == pytest.approx([0, 1, 2, 3, 4, 5], abs=0.01)
    assert [f.frame_number for f in frames] == [0, 10, 20, 30, 40, 50]
    assert show_hashes.duration == pytest.approx(6.0, abs=0.2)
    assert (show_hashes.width, show_hashes.height) == (320, 320)
    assert show_hashes.size == len(show) and len(show_hashes.sha256) == 64
    assert all(f.quality >= 50 for f in frames)


def test_each_second_shows_its_photo(photos: list[Path], show_hashes: VideoHashes) -> None:
    for frame in show_hashes.frames:
        shown = photos[int(frame.timestamp // 2)]
        distances = [frame.pdq - _photo_pdq(p) for p in photos]
        assert distances.index(min(distances)) == photos.index(shown)
        assert min(distances) <= 31, distances


def test_agrees_with_the_slow_twin(show: bytes, show_hashes: VideoHashes) -> None:
    naive = naive_video_hashes(show)
    assert len(naive.frames) == len(show_hashes.frames)
    for fast, slow in zip(show_hashes.frames, naive.frames, strict=True):
        assert fast.pdq - slow.pdq <= 16
        assert fast.timestamp == pytest.approx(slow.timestamp, abs=0.01)


def test_a_reencode_matches_by_the_video_rule(show: bytes, show_hashes: VideoHashes) -> None:
    smaller = hash_video_bytes(edit(show, "scale=240:240", crf=38))
    comparison = VideoMatchRule().compare(smaller, show_hashes)
    assert comparison.matched and comparison.reference_percent == 100.0
    assert all(pair.distance <= 31 for pair in comparison.pairs)


def test_cropped_mirrored_webm_stays_close_to_its_photos(photos: list[Path], show: bytes) -> None:
    clip = edit(show, "crop=iw*0.92:ih*0.92,hflip,scale=288:288", "libvpx-vp9", "webm", 40)
    hashes = hash_video_bytes(clip)
    assert len(hashes.frames) == 6
    for frame in hashes.frames:
        shown = photos[int(frame.timestamp // 2)]
        assert frame.pdq - _photo_pdq(shown, mirror=True, crop=0.08) <= 31
        # plain PDQ of the unmirrored photo is far: mirroring is why references get
        # their dihedral variants (hashing.variants)
        assert frame.pdq - _photo_pdq(shown) > 31


def test_caps_are_checked_before_decoding(show: bytes) -> None:
    with pytest.raises(VideoError) as empty:
        hash_video_bytes(b"")
    assert empty.value.kind == "empty"
    with pytest.raises(VideoError) as large:
        hash_video_bytes(show, VideoLimits(max_bytes=len(show) - 1))
    assert large.value.kind == "too_large"
    with pytest.raises(VideoError) as long:
        hash_video_bytes(show, VideoLimits(max_seconds=3.0))
    assert long.value.kind == "too_long"
    with pytest.raises(VideoError) as wide:
        hash_video_bytes(show, VideoLimits(max_pixels=320 * 319))
    assert wide.value.kind == "too_many_pixels"
    with pytest.raises(VideoError) as many:
        hash_video_bytes(show, VideoLimits(max_frames=5))
    assert many.value.kind == "too_many_frames"


def test_the_decoder_runs_under_a_memory_cap(show: bytes) -> None:
    with pytest.raises(VideoError) as starved:
        hash_video_bytes(show, VideoLimits(max_memory_bytes=64 * 1024 * 1024))
    assert starved.value.kind in ("too_much_memory", "decode_error")


@pytest.mark.parametrize(
    "data",
    [b"not a video at all" * 50, b"\x00\x00\x00\x18ftypmp42" + b"\xff" * 4000],
    ids=["text", "mp4-header-then-garbage"],
)
def test_malformed_bytes_are_a_clear_error(data: bytes) -> None:
    with pytest.raises(VideoError) as caught:
        hash_video_bytes(data)
    assert caught.value.kind in ("not_video", "decode_error")


def test_truncated_video_is_an_error_or_fewer_frames(show: bytes) -> None:
    try:
        hashes = hash_video_bytes(show[: len(show) // 2])
    except VideoError as exc:
        assert exc.kind in ("not_video", "decode_error", "no_frames")  # the index is at the end
    else:
        assert len(hashes.frames) <= 6


def test_a_photo_is_not_a_video(photos: list[Path]) -> None:
    with pytest.raises(VideoError) as caught:
        hash_video_bytes(photos[0].read_bytes())
    assert caught.value.kind == "not_video"


def test_hashes_round_trip_as_dict(show_hashes: VideoHashes) -> None:
    assert VideoHashes.from_dict(show_hashes.as_dict()) == show_hashes
    with pytest.raises(ValueError):
        VideoFrame.from_dict({"pdq": "zz", "quality": 1, "frame": 0, "t": 0})
