"""Benign demo and test videos made in memory with ffmpeg from benign photos (never on
disk): a slideshow, and edits of it (re-encoded, cropped, mirrored), issue 14.

ffmpeg writes into a memfd (``/proc/self/fd/N``, seekable, so MP4's index can be written
at the end); the bytes are read back and the memfd closed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _ffmpeg_to_memory(args: list[str], stdin_fd: int | None = None, ext: str = "mp4") -> bytes:
    out = os.memfd_create("radar-test-video", os.MFD_CLOEXEC)
    fds = (out,) if stdin_fd is None else (out, stdin_fd)
    fmt = {"mp4": "mp4", "webm": "webm", "mov": "mov"}[ext]
    try:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-y", *args, "-f", fmt, f"/proc/self/fd/{out}"],
            check=True,
            pass_fds=fds,
            timeout=120,
        )
        size = os.fstat(out).st_size
        return os.pread(out, size, 0)
    finally:
        os.close(out)


def slideshow(
    photos: Sequence[Path], seconds_each: float = 2.0, fps: int = 10, side: int = 320
) -> bytes:
    """An H.264 MP4 showing each photo for ``seconds_each`` seconds, ``side`` px square."""
    args: list[str] = []
    for photo in photos:
        args += ["-loop", "1", "-framerate", str(fps), "-t", str(seconds_each), "-i", str(photo)]
    scaled = "".join(f"[{i}]scale={side}:{side},setsar=1[v{i}];" for i in range(len(photos)))
    joined = "".join(f"[v{i}]" for i in range(len(photos)))
    graph = f"{scaled}{joined}concat=n={len(photos)}:v=1:a=0,format=yuv420p[out]"
    args += ["-filter_complex", graph, "-map", "[out]", "-r", str(fps), "-c:v", "libx264"]
    return _ffmpeg_to_memory(args)


def edit(
    video: bytes, filters: str, codec: str = "libx264", ext: str = "mp4", crf: int = 30
) -> bytes:
    """Re-encode ``video`` through the ffmpeg filter chain ``filters`` (e.g. a crop and a
    mirror: ``crop=iw*0.9:ih*0.9,hflip``)."""
    src = os.memfd_create("radar-test-src", os.MFD_CLOEXEC)
    try:
        os.write(src, video)
        args = ["-i", f"/proc/self/fd/{src}", "-vf", f"{filters},format=yuv420p", "-c:v", codec]
        args += ["-crf", str(crf)]
        if codec == "libvpx-vp9":
            args += ["-b:v", "0", "-deadline", "realtime", "-cpu-used", "8"]
        return _ffmpeg_to_memory(args, stdin_fd=src, ext=ext)
    finally:
        os.close(src)


# The demo's video edits (ffmpeg filter, codec, container, CRF): what a re-uploader does.
DEMO_EDITS: dict[str, tuple[str, str, str, int]] = {
    "reencode": ("scale=iw*3/4:ih*3/4", "libx264", "mp4", 36),
    "crop8": ("crop=iw*0.92:ih*0.92", "libx264", "mp4", 30),
    "mirror": ("hflip", "libx264", "mp4", 30),
    "crop8+mirror": ("crop=iw*0.92:ih*0.92,hflip", "libx264", "mp4", 30),
    "vp9-webm": ("scale=iw/2:ih/2", "libvpx-vp9", "webm", 40),
}


def video_place(references: Sequence[Path], unrelated: Sequence[Path]) -> Any:
    """A tube-site page of the demo (``/videos/``): a slideshow of the references in a
    ``<video src>``, a mirrored, re-encoded clip of it in a ``<source type=video/mp4>``,
    and a slideshow of unrelated photos that must match nothing. Planted: one entry per
    (video, reference photo it shows)."""
    from radar.demo.site import HTML, DemoSite, Planted

    show = slideshow(references)
    mirrored = edit(show, "hflip")
    files: dict[str, tuple[str, bytes]] = {
        "/media/slideshow.mp4": ("video/mp4", show),
        "/media/clip-mirrored.mp4": ("video/mp4", mirrored),
        "/media/holiday.mp4": ("video/mp4", slideshow(unrelated)),
    }
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Videos</title></head><body>"
        '<h1>Latest videos</h1><video src="/media/slideshow.mp4" controls></video>'
        '<video controls><source src="/media/clip-mirrored.mp4" type="video/mp4"></video>'
        '<video src="/media/holiday.mp4" controls></video></body></html>'
    )
    files["/videos/"] = (HTML, page.encode())
    files["/robots.txt"] = ("text/plain", b"User-agent: *\nAllow: /\n")
    planted = [
        Planted(path, photo.stem, name, "/videos/", "video")
        for path, name in (
            ("/media/slideshow.mp4", "slideshow"),
            ("/media/clip-mirrored.mp4", "mirrored"),
        )
        for photo in references
    ]
    return DemoSite(files=files, planted=planted, unrelated=["/media/holiday.mp4"], references={})
