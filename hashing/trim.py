"""Finding the picture inside added borders: letterbox bars, frames, caption bars, the flat
margins of a screenshot.

A border is a band of lines (rows or columns) along one side that was painted, not
photographed: its outermost line is flat (``START_SHARE`` of it within
``START_TOLERANCE`` of its median colour: film grain and sensor noise fail this, JPEG of a
flat colour passes), and every line of the band keeps that colour -- at least
``MIN_SHARE`` of the line within ``TOLERANCE`` of it (sparse text on a caption bar or a
screenshot's margin does not stop the band) and the line's median within ``DRIFT`` of it
(a sky or a wall drifts, a painted bar does not). Sides are peeled in rounds (a frame of
several colours, e.g. a coloured title bar on a white page, takes more than one; a side
takes part in a round only if it was peeled in the round before), and never past
``MAX_DEPTH`` of the picture.

The same peeling is applied to references (:mod:`hashing.variants`) and to candidates
(:func:`hashing.hash_image`), so a photo whose own edges are flat (sky, a studio wall)
loses the same strip on both sides and still matches.
"""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]  # top, left, bottom, right

TOLERANCE = 24  # per channel, out of 255: JPEG ringing around caption text stays inside
START_TOLERANCE = 4  # the outermost line of a painted border is flat to within this
START_SHARE = 0.9  # share of the outermost line that must be that flat
MIN_SHARE = 0.45  # share of each line of the band that must be the band's colour
DRIFT = 8  # the most a band line's median colour may differ from the band's colour
MAX_DEPTH = 0.45  # never peel more than this share of the height or width per side
ROUNDS = 3
# A trimmed box counts only if it removed at least this share of the width or height:
# below that, PDQ of the whole picture is as good.
MIN_TRIM = 0.02


CHUNK = 16  # lines examined at a time: bands are usually short, photos fail at once


def _peel(lines: np.ndarray, limit: int, given: tuple[int, int, int] | None = None) -> int:
    """How many leading lines of ``lines`` (n_lines, length, 3) form a border band (of
    colour ``given``, without the flat-start test, when one is given)."""
    if limit <= 0:
        return 0
    if given is not None:
        colour = np.array(given, dtype=np.int16)
    else:
        first = lines[0].astype(np.int16)
        colour = np.median(first, axis=0).astype(np.int16)
        if (np.abs(first - colour).max(axis=1) <= START_TOLERANCE).mean() < START_SHARE:
            return 0
    done = 0
    while done < limit:
        band = lines[done : min(limit, done + CHUNK)].astype(np.int16)
        near = (np.abs(band - colour).max(axis=2) <= TOLERANCE).mean(axis=1)
        drift = np.abs(np.median(band, axis=1) - colour).max(axis=1)
        failing = np.flatnonzero((near < MIN_SHARE) | (drift > DRIFT))
        if len(failing):
            return done + int(failing[0])
        done += len(band)
    return limit


def content_box(rgb: np.ndarray) -> Box:
    """The box ``(top, left, bottom, right)`` of ``rgb`` (h, w, 3) left after peeling
    uniform borders; the whole picture when there are none. Never empty."""
    height, width = rgb.shape[:2]
    top, left, bottom, right = 0, 0, height, width
    max_rows, max_cols = int(height * MAX_DEPTH), int(width * MAX_DEPTH)
    active = [True, True, True, True]  # top, bottom, left, right
    for _ in range(ROUNDS):
        peeled = [0, 0, 0, 0]
        if active[0]:
            peeled[0] = _peel(rgb[top:bottom, left:right], max_rows - top)
            top += peeled[0]
        if active[1]:
            peeled[1] = _peel(rgb[top:bottom, left:right][::-1], max_rows - (height - bottom))
            bottom -= peeled[1]
        if active[2]:
            peeled[2] = _peel(rgb[top:bottom, left:right].transpose(1, 0, 2), max_cols - left)
            left += peeled[2]
        if active[3]:
            view = rgb[top:bottom, left:right].transpose(1, 0, 2)[::-1]
            peeled[3] = _peel(view, max_cols - (width - right))
            right -= peeled[3]
        active = [n > 0 for n in peeled]
        if not any(active):
            break
    return top, left, bottom, right


def blend_box(rgb: np.ndarray, colour: tuple[int, int, int]) -> Box:
    """The box left after peeling, from every side, the lines that would have joined a
    frame of ``colour`` laid around the picture: what :func:`content_box` takes off a
    framed copy of a photo whose own edge has the frame's colour (a white sky under a
    white page). Used on references, one box per common frame colour."""
    height, width = rgb.shape[:2]
    max_rows, max_cols = int(height * MAX_DEPTH), int(width * MAX_DEPTH)
    top = _peel(rgb, max_rows, colour)
    bottom = height - _peel(rgb[top:][::-1], max_rows, colour)
    left = _peel(rgb[top:bottom].transpose(1, 0, 2), max_cols, colour)
    view = rgb[top:bottom, left:].transpose(1, 0, 2)[::-1]
    right = width - _peel(view, max_cols, colour)
    return top, left, bottom, right


def trimmed_box(rgb: np.ndarray) -> Box | None:
    """:func:`content_box` when it removes at least ``MIN_TRIM`` of the height or the
    width, else None (nothing worth a second hash)."""
    height, width = rgb.shape[:2]
    top, left, bottom, right = content_box(rgb)
    if (height - (bottom - top)) < MIN_TRIM * height and (
        width - (right - left)
    ) < MIN_TRIM * width:
        return None
    return top, left, bottom, right
