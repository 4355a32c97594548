"""Issue 15's hard-edit suite: plain PDQ, the variant bank and the local stage side by side.

Photos are split once, by name: reference photos (every third one is a *calibration*
reference, the rest are *test* references) and non-reference photos (collage cells,
derivative patches, photo-crop distractors). The local stage's inlier threshold is
calibrated on the calibration references, calibration seeds and calibration distractors
only (the smallest threshold with no false match there, plus a margin), then every figure
is reported on the test references with other seeds and other distractors. The false-match
bank holds the test references plus generated filler scenes, so every distractor is
compared with ``bank_size`` references through the index; every edited test photo is also
compared with the ``bank_size - 1`` references it is not. PDQ and the variant bank are
measured on the test references alone (4,375 variant hashes per photo cost ~6 s each).
Single-threaded OpenCV and FAISS; ``perception`` (the anchor of issue 15) is not
installed here and is not run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import faiss
import numpy as np
from PIL import Image

from bench.common import Record, load_photos, record, rss_bytes
from bench.hard_edits import DISTRACTOR_KINDS, FAMILIES, distractor, edit, scene
from hashing import hash_image
from hashing.variants import DEFAULT_PROFILE, VariantProfile, reference_hashes
from matcher.local import FaissDescriptorIndex, LocalBank, LocalParams

BENCH = "local"
LOG = logging.getLogger(__name__)
NON_REFERENCE = (
    "skimage-hubble_deep_field", "skimage-retina", "skimage-moon", "skimage-coins",
    "skimage-grass", "skimage-gravel", "skimage-brick", "skimage-immunohistochemistry",
)  # fmt: skip
PDQ_THRESHOLD, PDQ_QUALITY = 31, 50
MARGIN = 3
# One seed per photo; odd photo indices are mirrored (edit() mirrors odd seeds).
CALIBRATION_SEEDS, TEST_SEEDS = (0,), (100,)


def split(
    photos: Sequence[tuple[str, Image.Image]],
) -> tuple[list[tuple[str, Image.Image]], list[tuple[str, Image.Image]], list[Image.Image]]:
    """(calibration references, test references, non-reference photos)."""
    refs = [p for p in photos if p[0] not in NON_REFERENCE]
    others = [im for name, im in photos if name in NON_REFERENCE]
    return refs[::3], [p for i, p in enumerate(refs) if i % 3], others


def _bits(raw: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(raw, np.uint8))


def _pdq_codes(picture: Image.Image) -> list[np.ndarray]:
    """The candidate side of the global stage: PDQ and trimmed PDQ (quality-gated)."""
    h = hash_image(picture, picture.width, picture.height, "")
    codes = [_bits(h.pdq.raw)] if h.pdq_quality >= PDQ_QUALITY else []
    if h.pdq_trimmed is not None and (h.pdq_trimmed_quality or 0) >= PDQ_QUALITY:
        codes.append(_bits(h.pdq_trimmed.raw))
    return codes


def _global_hits(codes: list[np.ndarray], bank: np.ndarray, owners: np.ndarray) -> set[int]:
    if not codes or not len(bank):
        return set()
    dist = (np.stack(codes)[:, None, :] != bank[None]).sum(axis=2)
    return {int(o) for o in owners[(dist <= PDQ_THRESHOLD).any(axis=0)]}


def _global_banks(
    refs: Sequence[tuple[str, Image.Image]], quick: bool
) -> dict[str, tuple[Any, Any]]:
    """Per method, (codes (m, 256) of 0/1, owner index (m,)): plain PDQ and variants
    (in a quick run, only the eight turns and flips: the full profile takes ~6 s/photo)."""
    plain, plain_own, var, var_own = [], [], [], []
    profile = (
        VariantProfile(scales=(), trimmed=False, crop_max=0, rotations=())
        if quick
        else DEFAULT_PROFILE
    )
    for i, (_, im) in enumerate(refs):
        variants = reference_hashes(im, profile)
        for v in variants:
            if v.quality < PDQ_QUALITY:
                continue
            var.append(_bits(v.pdq.raw))
            var_own.append(i)
        if variants[0].quality >= PDQ_QUALITY:
            plain.append(_bits(variants[0].pdq.raw))
            plain_own.append(i)
    return {
        "pdq": (np.array(plain, np.uint8), np.array(plain_own)),
        "variant-bank": (np.array(var, np.uint8), np.array(var_own)),
    }


def _local_bank(
    refs: Sequence[tuple[str, Image.Image]], fillers: int, params: LocalParams, seed: int
) -> LocalBank:
    """Trained on generated scenes unrelated to every photo and filler (seed + 10**6)."""
    big = fillers >= 500
    count = 200 if big else min(120, fillers + 8)
    sample = [scene(np.random.default_rng([seed, 10**6, i])) for i in range(count)]
    probe = LocalBank(params=params)
    desc = np.vstack([probe.reference_features(s).descriptors for s in sample])
    index = FaissDescriptorIndex(nlist=2048 if big else 256, nprobe=8)
    index.train(desc)
    bank = LocalBank(index, params)
    for name, im in refs:
        bank.add(name, im)
    for i in range(fillers):
        bank.add(f"filler-{i}", scene(np.random.default_rng([seed, i])))
    return bank


def _cases(
    refs: Sequence[tuple[str, Image.Image]],
    others: Sequence[Image.Image],
    seeds: Sequence[int],
    families: Sequence[str],
) -> list[tuple[str, int, Image.Image]]:
    return [
        (family, i, edit(family, im, seed + 7 * i, others))
        for family in families
        for i, (_, im) in enumerate(refs)
        for seed in seeds
    ]


def _distractors(n: int, others: Sequence[Image.Image], seed: int) -> list[Image.Image]:
    kinds = DISTRACTOR_KINDS
    return [distractor(kinds[i % len(kinds)], seed * 100_000 + i, others) for i in range(n)]


def calibrate(bank: LocalBank, cases: list, distractors: list) -> tuple[int, dict[str, Any]]:
    """The smallest min_inliers with no false match on the calibration data, + MARGIN."""
    worst = 0
    true_inliers: list[int] = []
    for _family, i, picture in cases:
        for m in bank.match(picture):
            if m.label == _label_of(bank, i):
                true_inliers.append(m.inliers)
            else:
                worst = max(worst, m.inliers)
    for picture in distractors:
        for m in bank.match(picture):
            worst = max(worst, m.inliers)
    chosen = max(bank.params.min_inliers, worst + 1 + MARGIN)
    return chosen, {
        "worst_false_inliers": worst,
        "true_inliers_median": float(np.median(true_inliers)) if true_inliers else 0,
    }


def _label_of(bank: LocalBank, i: int) -> str:
    return bank.labels[i]


def evaluate(quick: bool) -> dict[str, Any]:
    cv2.setNumThreads(1)
    faiss.omp_set_num_threads(1)
    photos = load_photos()
    calib_refs, test_refs, others = split(photos)
    families = list(FAMILIES)[::4] if quick else list(FAMILIES)
    cal_seeds, test_seeds = (
        (CALIBRATION_SEEDS[:1], TEST_SEEDS[:1]) if quick else (CALIBRATION_SEEDS, TEST_SEEDS)
    )
    if quick:
        calib_refs, test_refs = calib_refs[:1], test_refs[:2]
    n_fill = 6 if quick else 1000 - len(test_refs)
    n_dist = 6 if quick else 500
    loose = replace(LocalParams(), min_inliers=8)

    # Calibration: its own references, seeds, distractors and filler scenes.
    bank = _local_bank(calib_refs, 6 if quick else 150, loose, seed=1)
    cal_cases = _cases(calib_refs, others, cal_seeds, families)
    chosen, cal_info = calibrate(bank, cal_cases, _distractors(n_dist // 3, others, seed=1))
    params = replace(LocalParams(), min_inliers=chosen)
    LOG.warning("local: calibrated: min_inliers=%d %s", chosen, cal_info)

    # Test.
    rss0 = rss_bytes()
    started = time.perf_counter()
    bank = _local_bank(test_refs, n_fill, params, seed=2)
    build_s = time.perf_counter() - started
    rss_per_ref = (rss_bytes() - rss0) / len(bank)
    globals_ = _global_banks(test_refs, quick)
    LOG.warning("local: test bank: %d references in %.0f s", len(bank), build_s)
    cases = _cases(test_refs, others, test_seeds, families)
    found: dict[str, dict[str, int]] = {m: {} for m in ("pdq", "variant-bank", "local", "any")}
    totals: dict[str, int] = {}
    false_local = 0
    false_global = {"pdq": 0, "variant-bank": 0}
    local_s, global_s, local_runs = 0.0, 0.0, 0
    for family, i, picture in cases:
        totals[family] = totals.get(family, 0) + 1
        t = time.perf_counter()
        codes = _pdq_codes(picture)
        hits = {m: _global_hits(codes, *globals_[m]) for m in false_global}
        global_s += time.perf_counter() - t
        t = time.perf_counter()
        matches = bank.match(picture)
        local_s += time.perf_counter() - t
        local_runs += 1
        labels = {m.label for m in matches}
        hit = {"pdq": i in hits["pdq"], "variant-bank": i in hits["variant-bank"]}
        hit["local"] = test_refs[i][0] in labels
        hit["any"] = hit["variant-bank"] or hit["local"]
        for m, ok in hit.items():
            found[m][family] = found[m].get(family, 0) + int(ok)
        false_local += len(labels - {test_refs[i][0]})
        for m in false_global:
            false_global[m] += len(hits[m] - {i})
    dist_false, dist_false_global = 0, {"pdq": 0, "variant-bank": 0}
    dist_s = 0.0
    worst_false: list[dict[str, Any]] = []
    distractors = _distractors(n_dist, others, seed=2)
    LOG.warning("local: edits done: %d queries", len(cases))
    for k, picture in enumerate(distractors):
        t = time.perf_counter()
        matches = bank.match(picture)
        dist_s += time.perf_counter() - t
        dist_false += len(matches)
        worst_false += [
            {"kind": DISTRACTOR_KINDS[k % len(DISTRACTOR_KINDS)], "label": m.label,
             "inliers": m.inliers} for m in matches
        ]  # fmt: skip
        codes = _pdq_codes(picture)
        for m in dist_false_global:
            dist_false_global[m] += len(_global_hits(codes, *globals_[m]))
    n_refs = len(bank)
    pdq_bytes = 32
    return {
        "params": {
            "min_inliers": chosen,
            **cal_info,
            "references": n_refs,
            "test_photos": len(test_refs),
            "quick": quick,
            "calibration_photos": len(calib_refs),
            "seeds": list(test_seeds),
        },
        "recall": {m: {f: found[m].get(f, 0) / totals[f] for f in totals} for m in found},
        "queries_per_family": totals,
        "pairs_local": len(distractors) * n_refs + len(cases) * (n_refs - 1),
        "pairs_global": (len(distractors) + len(cases)) * len(test_refs),
        "false_local": false_local + dist_false,
        "false_local_detail": worst_false[:20],
        "false_global": {m: false_global[m] + dist_false_global[m] for m in false_global},
        "bytes_per_reference_arrays": bank.nbytes() / n_refs + pdq_bytes,
        "rss_per_reference": rss_per_ref,
        "build_seconds": build_s,
        "local_ms_per_query": 1000 * (local_s + dist_s) / (local_runs + len(distractors)),
        "global_ms_per_query": 1000 * global_s / max(1, len(cases)),
    }


def run(quick: bool, out: Path) -> list[Record]:
    result = evaluate(quick)
    (out / "local.json").write_text(json.dumps(result, indent=1) + "\n")
    recs = []
    for method, per in result["recall"].items():
        for family, value in per.items():
            recs.append(record(BENCH, f"recall/{method}/{family}", value, None, "", seeds=2))
    recs.append(
        record(BENCH, "false_matches/local", result["false_local"], None, "",
               pairs=result["pairs_local"])
    )  # fmt: skip
    for m, v in result["false_global"].items():
        recs.append(record(BENCH, f"false_matches/{m}", v, None, "", pairs=result["pairs_global"]))
    recs.append(
        record(BENCH, "bytes_per_reference", result["bytes_per_reference_arrays"], None, "")
    )
    recs.append(record(BENCH, "rss_per_reference", result["rss_per_reference"], None, ""))
    recs.append(record(BENCH, "local_ms_per_query", result["local_ms_per_query"], None, ""))
    recs.append(record(BENCH, "global_ms_per_query", result["global_ms_per_query"], None, ""))
    return recs
