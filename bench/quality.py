"""Detection quality: recall per re-upload edit and false matches, ours against plain PDQ
and plain pHash.

Every benign photo is a reference and, edited by every transform of
:mod:`bench.transforms`, a candidate. A candidate found under its own photo is a hit; found
under any other photo it is a false match. Candidates go through the production hashing
path (``hashing.hash_bytes``: decode, working size, PDQ, pHash, trimmed PDQ); references
through ``hashing.variants.reference_hashes``; matching through ``matcher.Bank`` with
the default rule (PDQ <= 31 or pHash <= 6, PDQ quality >= 50 on both sides). Meta's
``haystack.txt`` PDQ hashes add unrelated real-image hashes to the false-match count.

``ours + mirror estimate`` is what a video frame gets on top (:mod:`matcher.video`): every
candidate and distractor is also matched by the mirror estimate of its PDQ
(:meth:`hashing.PdqHash.mirror_estimate`), so its false matches are the cost of that extra
query, and its recall on ``crop-10%+mirror`` what it buys.

Ablations (which variant families buy which recall at which cost) are computed from the
same hashes, so the default profile is chosen by measurement: see ``quality.json``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import SHARED_IMAGES, Record, load_photos, record
from bench.transforms import TRANSFORMS, apply
from hashing import ImageHashes, MatchRule, hash_bytes
from hashing.decode import decode
from hashing.variants import DEFAULT_PROFILE, VariantHash, VariantProfile, reference_hashes
from matcher import Bank
from store.models import Case, Reference

RULE = MatchRule()


@dataclass
class Bankset:
    """One reference's variant hashes as arrays, for the ablations."""

    label: str
    names: list[str]
    pdq: np.ndarray  # (V, 4) uint64
    quality: np.ndarray  # (V,)
    phash: np.ndarray  # (V,) uint64, 0 where none
    has_phash: np.ndarray  # (V,) bool


def _words(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


def _bankset(label: str, variants: list[VariantHash]) -> Bankset:
    return Bankset(
        label,
        [v.variant for v in variants],
        np.stack([_words(v.pdq.raw) for v in variants]),
        np.array([v.quality for v in variants]),
        np.array([0 if v.phash is None else v.phash.as_int for v in variants], dtype=np.uint64),
        np.array([v.phash is not None for v in variants]),
    )


def _family(name: str) -> str:
    if name.startswith("crop-"):
        return "crop"
    if name.startswith("rotate") and name[6:7] in "+-" and name != "rotate-90":
        return "rotation" if name not in ("rotate-180", "rotate-270") else "dihedral"
    if name.startswith("scale-"):
        return "scale"
    if name.startswith("trimmed"):
        return "trimmed"
    return "dihedral" if name != "original" else "original"


FAMILIES = ("original", "dihedral", "trimmed", "scale", "crop", "rotation")


# Method name -> (reference variant families used, candidate uses its trimmed PDQ, pHash).
METHODS: dict[str, tuple[frozenset[str], bool, bool]] = {
    "plain PDQ": (frozenset({"original"}), False, False),
    "plain pHash": (frozenset(), False, True),
    "dihedral (before)": (frozenset({"original", "dihedral"}), False, True),
    "+ trimming": (frozenset({"original", "dihedral", "trimmed", "scale"}), True, True),
    "+ rotations": (
        frozenset({"original", "dihedral", "trimmed", "scale", "rotation"}),
        True,
        True,
    ),
    "+ crops": (frozenset({"original", "dihedral", "trimmed", "scale", "crop"}), True, True),
    "ours (all)": (frozenset(FAMILIES), True, True),
}


def _family_distances(bank: Bankset, queries: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(Q, F) smallest PDQ distance from each query to the reference's variants of each
    family that pass the quality gate; 999 where none (or the query fails its gate)."""
    fam = np.array([_family(n) for n in bank.names])
    gate = bank.quality >= RULE.min_pdq_quality
    out = np.full((len(queries), len(FAMILIES)), 999, dtype=np.int32)
    if len(queries) == 0:
        return out
    d = np.bitwise_count(queries[:, None, :] ^ bank.pdq[None, :, :]).sum(axis=2)
    for f, name in enumerate(FAMILIES):
        use = (fam == name) & gate
        if use.any():
            out[:, f] = d[:, use].min(axis=1)
    out[~ok] = 999
    return out


def _matches(
    bank: Bankset, plain: np.ndarray, trimmed: np.ndarray, phash: np.ndarray
) -> dict[str, np.ndarray]:
    """Per method, (C,) bool: which candidates match this reference. ``plain`` and
    ``trimmed`` are (C, F) family distances, ``phash`` (C, 2) the smallest pHash distance
    to the original and to any pHash-carrying variant."""
    out = {}
    for method, (families, use_trimmed, use_phash) in METHODS.items():
        cols = [FAMILIES.index(f) for f in families]
        hit = np.zeros(len(plain), dtype=bool)
        if cols:
            hit |= plain[:, cols].min(axis=1) <= RULE.pdq_threshold
            if use_trimmed:
                hit |= trimmed[:, cols].min(axis=1) <= RULE.pdq_threshold
        if use_phash:
            hit |= phash[:, 0 if not cols else 1] <= RULE.phash_threshold
        out[method] = hit
    return out


def _phash_distances(bank: Bankset, cands: list[ImageHashes]) -> np.ndarray:
    gate = bank.has_phash & (bank.quality >= RULE.min_pdq_quality)
    original = gate & np.array([n == "original" for n in bank.names])
    q = np.array([c.phash.as_int for c in cands], dtype=np.uint64)
    ok = np.array([c.pdq_quality >= RULE.min_pdq_quality for c in cands])
    out = np.full((len(cands), 2), 999, dtype=np.int32)
    for k, use in enumerate((original, gate)):
        if use.any():
            out[:, k] = np.bitwise_count(q[:, None] ^ bank.phash[use][None, :]).min(axis=1)
    out[~ok] = 999
    return out


MIRROR_ESTIMATE = "ours + mirror estimate"


def _haystack() -> list[ImageHashes]:
    path = SHARED_IMAGES / "pdq-reference" / "reg-test-input" / "haystack.txt"
    from hashing import PdqHash, PHash

    out = []
    for line in path.read_text().split():
        # Only PDQ is known; a pHash of all ones with quality 100 never matches by pHash
        # (references' pHashes are real) and lets the PDQ side be counted.
        out.append(ImageHashes(PdqHash(bytes.fromhex(line)), 100, PHash(b"\x00" * 8), 0, 0, ""))
    return out


def evaluate(
    photos: list[tuple[str, Any]],
    transforms: list[str],
    profile: VariantProfile = DEFAULT_PROFILE,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Hash, match and count; the dict feeds the records, the tables and the plot."""
    import io

    refs: list[Bankset] = []
    ref_rows: list[Reference] = []
    case = Case("bench")
    skipped = []

    def hashed(picture: Any) -> list[VariantHash]:
        buf = io.BytesIO()
        picture.save(buf, "PNG")
        working, _, _ = decode(buf.getvalue())
        return reference_hashes(working, profile)

    # The crop grid is hashed in C with the GIL released: two threads use both cores.
    with ThreadPoolExecutor(2) as pool:
        all_variants = list(pool.map(hashed, [picture for _, picture in photos]))
    for (label, _picture), variants in zip(photos, all_variants, strict=True):
        if variants[0].quality < RULE.min_pdq_quality:
            skipped.append(label)  # fails the quality gate: never banked
            continue
        refs.append(_bankset(label, variants))
        for v in variants:
            ref_rows.append(Reference(case.id, label, "pdq", v.pdq.hex, v.quality, v.variant))
            if v.phash is not None:
                ref_rows.append(
                    Reference(case.id, label, "phash", v.phash.hex, v.quality, v.variant)
                )
    labels = [r.label for r in refs]
    if progress:
        progress(f"quality: {len(refs)} references, {len(ref_rows)} reference hashes")
    cands: list[ImageHashes] = []
    truth: list[tuple[str, str]] = []  # (source label, transform)
    by_label = dict(photos)
    for seed, label in enumerate(labels):
        for t in transforms:
            cands.append(hash_bytes(apply(t, by_label[label], seed * 100 + len(t))))
            truth.append((label, t))
    distractors = _haystack()
    # Matrix of matches per method: (references, candidates + distractors).
    everything = cands + distractors
    plain_q = np.stack([_words(c.pdq.raw) for c in everything])
    plain_ok = np.array([c.pdq_quality >= RULE.min_pdq_quality for c in everything])
    trim_q = np.stack([_words((c.pdq_trimmed or c.pdq).raw) for c in everything])
    trim_ok = np.array(
        [c.pdq_trimmed is not None and (c.pdq_trimmed_quality or 0) >= 50 for c in everything]
    )
    rows = []
    for ref in refs:
        rows.append(
            _matches(
                ref,
                _family_distances(ref, plain_q, plain_ok),
                _family_distances(ref, trim_q, trim_ok),
                _phash_distances(ref, everything),
            )
        )
    per_method = {m: np.stack([row[m] for row in rows]) for m in METHODS}
    # The production path: one bank with every reference's variants, Bank.match.
    bank = Bank([case], ref_rows)
    production = np.zeros((len(refs), len(everything)), dtype=bool)
    index = {label: i for i, label in enumerate(labels)}
    for j, c in enumerate(everything):
        for m in bank.match_image(c):
            production[index[m.label], j] = True
    agree = bool((production == per_method["ours (all)"]).all())
    # A video frame's extra query (matcher.video): the mirror estimate of its PDQ.
    mirror_estimate = production.copy()
    for j, c in enumerate(everything):
        for m in bank.match({"pdq": c.pdq.mirror_estimate().hex}, c.pdq_quality):
            mirror_estimate[index[m.label], j] = True

    n_c = len(cands)
    own = np.array([index[label] for label, _ in truth])
    result: dict[str, Any] = {
        "references": len(refs),
        "skipped_low_quality": skipped,
        "reference_hashes": len(ref_rows),
        "variants_per_reference": len(ref_rows) / max(1, len(refs)),
        "candidates": n_c,
        "distractors": len(distractors),
        "production_agrees_with_ablation": agree,
        "methods": {},
    }
    matrices = {
        **per_method,
        "ours (production)": production,
        MIRROR_ESTIMATE: mirror_estimate,
    }
    for method, matrix in matrices.items():
        tp = matrix[own, np.arange(n_c)]
        recall: dict[str, float] = {}
        counts: dict[str, int] = defaultdict(int)
        for (_label, t), ok in zip(truth, tp, strict=True):
            counts[t] += int(ok)
        for t in transforms:
            recall[t] = counts[t] / len(refs)
        mask = np.ones_like(matrix)
        mask[own, np.arange(n_c)] = False
        false = int((matrix & mask).sum())
        pairs = int(mask.sum())
        result["methods"][method] = {
            "recall": recall,
            "false_matches": false,
            "unrelated_pairs": pairs,
            "fpr_upper_95": (3.0 / pairs) if false == 0 else None,
        }
    return result


def run(quick: bool, out: Path) -> list[Record]:
    photos = load_photos(limit=6 if quick else None)
    transforms = list(TRANSFORMS)[:: 5 if quick else 1]
    profile = VariantProfile(crop_step=0.1) if quick else DEFAULT_PROFILE
    result = evaluate(photos, transforms, profile, progress=print)
    (out / "quality.json").write_text(json.dumps(result, indent=1) + "\n")
    ours, pdq_plain = result["methods"]["ours (production)"], result["methods"]["plain PDQ"]
    estimate = result["methods"][MIRROR_ESTIMATE]
    phash_plain = result["methods"]["plain pHash"]
    common = {
        "references": result["references"],
        "candidates_per_transform": result["references"],
        "reference_hashes_per_reference": round(result["variants_per_reference"], 1),
        "photos": "kodak24 + PDQ reference photos + scikit-image samples",
    }
    records = []
    for t in transforms:
        records.append(
            record(
                "quality",
                f"recall/{t}",
                ours["recall"][t],
                pdq_plain["recall"][t],
                "plain PDQ",
                phash_recall=round(phash_plain["recall"][t], 4),
                **common,
            )
        )
    records.append(
        record(
            "quality",
            "false_matches",
            ours["false_matches"],
            pdq_plain["false_matches"],
            "plain PDQ",
            lower_is_better=True,
            unrelated_pairs=ours["unrelated_pairs"],
            fpr_upper_95=ours["fpr_upper_95"],
            distractors=result["distractors"],
            **common,
        )
    )
    records.append(
        record(
            "quality",
            "false_matches_mirror_estimate",
            estimate["false_matches"],
            ours["false_matches"],
            "ours without it",
            lower_is_better=True,
            unrelated_pairs=estimate["unrelated_pairs"],
            fpr_upper_95=estimate["fpr_upper_95"],
            distractors=result["distractors"],
            **common,
        )
    )
    return records
