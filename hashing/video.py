"""Untrusted video bytes -> :class:`hashing.frames.VideoHashes` (vPDQ), or a clear error.

The bytes never touch a disk: they are copied into a memfd (anonymous memory with a file
descriptor, gone when the last descriptor closes) that FFmpeg reads as
``/proc/self/fd/N``, so it can seek in an MP4 whose index sits at the end. Then:

1. ``ffprobe`` reads the container header: no video stream, a still image, a frame over
   ``max_pixels`` or a duration over ``max_seconds`` is refused before any frame is
   decoded;
2. a child process (:mod:`hashing._video_worker`) runs Meta's ``vpdq`` (1 frame per
   second, one thread) under an address-space and CPU-time limit and a wall-clock
   timeout: a decoder that crashes, loops or balloons on a hostile file kills the child,
   and the caller gets a :class:`VideoError`;
3. more sampled frames than ``max_frames`` (a lying duration) is refused too.

:func:`naive_video_hashes` is the slow twin: ``ffmpeg`` decodes one frame per second to raw
RGB on a pipe and the project's own PDQ (:mod:`hashing.pdq`) hashes them; tests check that
it agrees with vpdq. Blocks for as long as decoding takes (bounded by the timeout).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from hashing.frames import VideoFrame, VideoHashes
from hashing.pdq import pdq as _pdq
from hashing.values import PdqHash

_FFPROBE = ("ffprobe", "-v", "error", "-print_format", "json", "-show_format")
_FFPROBE_STREAM = ("-show_streams", "-select_streams", "v:0")
_WORKER = Path(__file__).with_name("_video_worker.py")
# ffprobe's names for still-image demuxers: a picture is not a video.
_IMAGE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "gif", "webp_pipe", "bmp_pipe", "tiff_pipe")


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """Caps on one video. ``max_memory_bytes`` bounds the decoder child's address space,
    ``timeout_seconds`` its wall clock (and CPU time)."""

    max_bytes: int = 64 * 1024 * 1024
    max_seconds: float = 600.0
    max_frames: int = 900
    max_pixels: int = 3840 * 2160
    max_memory_bytes: int = 1536 * 1024 * 1024
    timeout_seconds: float = 120.0
    seconds_per_hash: float = 1.0  # vPDQ's sampling: one frame per second


class VideoError(ValueError):
    """The bytes are not a hashable video. ``kind`` is a short, stable counter name."""

    KINDS = (
        "empty",
        "too_large",
        "not_video",
        "too_long",
        "too_many_pixels",
        "too_many_frames",
        "too_much_memory",
        "timeout",
        "decode_error",
        "no_frames",
        "unavailable",
    )

    def __init__(self, kind: str, message: str) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown video error kind {kind!r}")
        super().__init__(message)
        self.kind = kind


@contextlib.contextmanager
def _memfd(data: bytes) -> Iterator[int]:
    """A memfd holding ``data``, closed (and so freed) on exit."""
    fd = os.memfd_create("radar-video", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        yield fd
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Probe:
    """What ffprobe says of the first video stream."""

    duration: float
    width: int
    height: int


def _run(cmd: list[str], fd: int, timeout: float, stdin: bytes = b"") -> str:
    try:
        done = subprocess.run(
            cmd, input=stdin, capture_output=True, timeout=timeout, pass_fds=(fd,), check=False
        )
    except subprocess.TimeoutExpired:
        raise VideoError("timeout", f"{Path(cmd[0]).name} took over {timeout:.0f} s") from None
    except FileNotFoundError:
        raise VideoError("unavailable", f"{cmd[0]} is not installed (Debian: ffmpeg)") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise VideoError("decode_error", f"{Path(cmd[0]).name} failed: {tail[0][:200]}")
    return done.stdout.decode("utf-8", "replace")


def probe(fd: int, limits: VideoLimits) -> Probe:
    """Check the container header of the video in ``fd``; raise VideoError."""
    try:
        out = _run(
            [*_FFPROBE, *_FFPROBE_STREAM, f"/proc/self/fd/{fd}"],
            fd,
            min(limits.timeout_seconds, 30.0),
        )
    except VideoError as exc:
        if exc.kind != "decode_error":
            raise
        # ffprobe cannot read the container at all: no video format it knows
        raise VideoError("not_video", str(exc)) from None
    try:
        info = json.loads(out)
    except ValueError:
        raise VideoError("decode_error", "ffprobe said something that is not JSON") from None
    fmt = info.get("format") or {}
    streams = info.get("streams") or []
    names = str(fmt.get("format_name")).split(",")
    if not streams or not fmt or any(name in _IMAGE_FORMATS for name in names):
        raise VideoError("not_video", f"no video stream (format {fmt.get('format_name')!r})")
    width, height = int(streams[0].get("width") or 0), int(streams[0].get("height") or 0)
    if width <= 0 or height <= 0:
        raise VideoError("decode_error", f"bad frame size {width}x{height}")
    if width * height > limits.max_pixels:
        raise VideoError("too_many_pixels", f"{width}x{height} is over {limits.max_pixels} px")
    try:
        duration = float(fmt.get("duration") or streams[0].get("duration") or 0.0)
    except ValueError:
        duration = 0.0
    if duration > limits.max_seconds:
        raise VideoError("too_long", f"{duration:.1f} s is over the {limits.max_seconds} s cap")
    return Probe(duration, width, height)


def _check_size(data: bytes, limits: VideoLimits) -> None:
    if not data:
        raise VideoError("empty", "empty body: zero bytes")
    if len(data) > limits.max_bytes:
        raise VideoError("too_large", f"{len(data)} bytes is over the {limits.max_bytes} cap")


def _finish(
    frames: list[VideoFrame], shape: Probe, data: bytes, limits: VideoLimits
) -> VideoHashes:
    if not frames:
        raise VideoError("no_frames", "no frame could be decoded")
    if len(frames) > limits.max_frames:
        raise VideoError("too_many_frames", f"{len(frames)} frames over {limits.max_frames}")
    duration = max(shape.duration, frames[-1].timestamp)
    digest = hashlib.sha256(data).hexdigest()
    return VideoHashes(tuple(frames), duration, shape.width, shape.height, digest, len(data))


def hash_video_bytes(data: bytes, limits: VideoLimits | None = None) -> VideoHashes:
    """vPDQ of the video in ``data``. Raises :class:`VideoError` (``kind`` says why) for
    anything that is not a hashable video within ``limits``. Keeps nothing of ``data``."""
    limits = limits or VideoLimits()
    _check_size(data, limits)
    with _memfd(data) as fd:
        shape = probe(fd, limits)
        request = {
            "fd": fd,
            "max_memory_bytes": limits.max_memory_bytes,
            "max_cpu_seconds": max(1, int(limits.timeout_seconds)),
            "seconds_per_hash": limits.seconds_per_hash,
        }
        cmd = [sys.executable, "-I", str(_WORKER)]
        try:
            out = _run(cmd, fd, limits.timeout_seconds, json.dumps(request).encode())
        except VideoError as exc:
            if exc.kind == "decode_error":  # the child died: a signal, an abort, a limit
                raise VideoError("decode_error", f"the vpdq worker died: {exc}") from None
            raise
    try:
        answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise VideoError("decode_error", "the vpdq worker gave no answer") from None
    if "error" in answer:
        kind = str(answer["error"])
        kind = kind if kind in VideoError.KINDS else "decode_error"
        raise VideoError(kind, f"vpdq: {answer.get('message', '')}")
    frames = [
        VideoFrame(cast(PdqHash, PdqHash.from_hex(hex_)), int(quality), int(number), float(t))
        for hex_, quality, number, t in answer["frames"]
    ]
    return _finish(frames, shape, data, limits)


def naive_video_hashes(data: bytes, limits: VideoLimits | None = None) -> VideoHashes:
    """The slow twin: ffmpeg's ``fps`` filter picks one frame a second, decoded to raw RGB
    on a pipe (never a file), hashed by :func:`hashing.pdq.pdq`. Frame numbers count the
    sampled frames; timestamps are ``index * seconds_per_hash``."""
    limits = limits or VideoLimits()
    _check_size(data, limits)
    with _memfd(data) as fd:
        shape = probe(fd, limits)
        rate = 1.0 / limits.seconds_per_hash
        cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", f"/proc/self/fd/{fd}", "-an"]
        cmd += ["-vf", f"fps={rate}:round=down", "-frames:v", str(limits.max_frames + 1)]
        cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
        try:
            done = subprocess.run(
                cmd, capture_output=True, timeout=limits.timeout_seconds, pass_fds=(fd,)
            )
        except subprocess.TimeoutExpired:
            raise VideoError("timeout", "ffmpeg took too long") from None
    if done.returncode != 0:
        raise VideoError("decode_error", "ffmpeg could not decode the video")
    size = shape.width * shape.height * 3
    raw = np.frombuffer(done.stdout, dtype=np.uint8)
    count = len(raw) // size
    frames = []
    for index in range(count):
        rgb = raw[index * size : (index + 1) * size].reshape(shape.height, shape.width, 3)
        hash_, quality = _pdq(rgb)
        frames.append(VideoFrame(hash_, quality, index, index * limits.seconds_per_hash))
    return _finish(frames, shape, data, limits)
