"""``python -m bench --quick``: every benchmark runs and writes records, tables and plots
of the right shape. Speed is not asserted here (the targets live in the benchmarks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.plots import QPS_PNG, RECALL_PNG

KEYS = {"bench", "metric", "ours", "anchor", "anchor_name", "ratio", "params"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, shared_images: Path) -> Path:
    out = tmp_path_factory.mktemp("bench")
    assert main(["--quick", "--out", str(out)]) == 0
    return out


def test_records_have_the_issue_format(results: Path) -> None:
    records = json.loads((results / "latest.json").read_text())
    assert {r["bench"] for r in records} == {
        "quality",
        "matching",
        "hashing",
        "end_to_end",
        "video",
        "local",
        "scale",
    }
    for r in records:
        assert set(r) == KEYS
        assert isinstance(r["ours"], float) and isinstance(r["params"], dict)
        if r["anchor"] is not None and r["anchor"] and r["ours"]:
            assert r["ratio"] is not None and r["ratio"] > 0
    matching = [r for r in records if r["bench"] == "matching"]
    assert all(r["params"]["references"] > 0 for r in matching)
    assert all(
        r["params"]["recall_vs_flat"] == 1.0 for r in matching if "recall_vs_flat" in r["params"]
    )
    hashing = [r for r in records if r["bench"] == "hashing"]
    assert all(r["params"]["megapixels"] > 0 for r in hashing) and len(hashing) == 2
    quality = [r for r in records if r["bench"] == "quality"]
    assert any(r["metric"] == "false_matches" for r in quality)
    assert all(0 <= r["ours"] <= 1 for r in quality if r["metric"].startswith("recall/"))
    e2e = {r["metric"] for r in records if r["bench"] == "end_to_end"}
    assert e2e == {"images_per_s", "fetch_to_hit_latency_p50_ms", "fetch_to_hit_latency_p95_ms"}
    scale = {r["metric"]: r for r in records if r["bench"] == "scale"}
    assert set(scale) == {
        f"{mode}/{metric}"
        for mode in ("embedded", "distributed")
        for metric in ("images_per_s", "fetch_to_hit_p50_ms", "fetch_to_hit_p95_ms")
    }
    for mode in ("embedded", "distributed"):  # both modes found every planted copy, only them
        params = scale[f"{mode}/images_per_s"]["params"]
        assert params["found"] == params["planted"] > 0 and params["false_hits"] == 0
        assert scale[f"{mode}/images_per_s"]["ratio"] > 0


def test_production_matching_agrees_with_the_ablation(results: Path) -> None:
    detail = json.loads((results / "quality.json").read_text())
    assert detail["production_agrees_with_ablation"] is True
    assert detail["methods"]["ours (production)"]["false_matches"] == 0


def test_tables_and_plots_are_written(results: Path) -> None:
    md = (results / "latest.md").read_text()
    for heading in ("Detection quality", "Matching speed", "Hashing speed", "End to end"):
        assert f"## {heading}" in md
    assert "Where the goals are not reached" in md and "Quick smoke run" in md
    for name in (RECALL_PNG, QPS_PNG):
        assert (results / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
