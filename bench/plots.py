"""The two PNG plots: recall per transform (ours, plain PDQ, plain pHash) and matching
queries/s against bank size (ours, FAISS Flat, HMA MultiHash), from the JSON the quality
and matching benchmarks leave in the output folder."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

RECALL_PNG = "recall_per_transform.png"
QPS_PNG = "queries_per_s_vs_bank_size.png"


def recall_plot(out: Path) -> Path | None:
    """Grouped bars per transform; None when the quality results are missing."""
    source = out / "quality.json"
    if not source.exists():
        return None
    data = json.loads(source.read_text())
    methods = [("ours (production)", "ours", "#1b7837"), ("plain PDQ", "plain PDQ", "#5e3c99")]
    methods.append(("plain pHash", "plain pHash", "#e66101"))
    transforms = list(data["methods"]["plain PDQ"]["recall"])
    fig, ax = plt.subplots(figsize=(13, 4.8))
    width = 0.27
    for k, (key, label, colour) in enumerate(methods):
        recall = data["methods"][key]["recall"]
        xs = [i + (k - 1) * width for i in range(len(transforms))]
        ax.bar(xs, [recall[t] for t in transforms], width, label=label, color=colour)
    ax.axhline(0.95, color="grey", linestyle="--", linewidth=1, label="goal 95 %")
    ax.set_xticks(range(len(transforms)), transforms, rotation=45, ha="right")
    ax.set_ylim(0, 1.22)
    ax.set_ylabel("recall")
    ours = data["methods"]["ours (production)"]
    ax.set_title(
        f"Recall per re-upload edit: {data['references']} benign photos, "
        f"{ours['false_matches']} false matches in {ours['unrelated_pairs']:,} unrelated pairs"
    )
    ax.legend(loc="upper center", ncol=4, fontsize=9)
    fig.tight_layout()
    path = out / RECALL_PNG
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def qps_plot(out: Path) -> Path | None:
    """Queries/s against bank size, log-log, one line per index and code kind."""
    source = out / "matching.json"
    if not source.exists():
        return None
    rows = json.loads(source.read_text())
    fig, ax = plt.subplots(figsize=(8, 5))
    series = [("ours_qps", "ours (MIH, C)", "#1b7837")]
    series += [("flat_qps", "FAISS IndexBinaryFlat", "#5e3c99")]
    series += [("multihash_qps", "FAISS MultiHash(256,16,16) (HMA)", "#e66101")]
    for key, label, colour in series:
        for kind, style in (("uniform", "-o"), ("clustered", "--s")):
            pts = sorted((r["n"], r[key]) for r in rows if r["kind"] == kind)
            if pts:
                ax.plot(*zip(*pts, strict=True), style, color=colour, label=f"{label}, {kind}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("references in the bank (256-bit codes)")
    ax.set_ylabel("queries/s (radius 31, exact, 2 threads)")
    ax.set_title("Exact radius-31 matching speed against bank size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / QPS_PNG
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
