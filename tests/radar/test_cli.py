"""The ``radar`` command line, run as a user runs it: a subprocess per command."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from crawler.storage import CrawlStore

KODAK = "kodak24"
# PDQ of Meta's bridge-mods test photos, as python-threatexchange lists them
MODS = [
    "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22",
]


def radar(
    db: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``radar ARGS`` in a child process on the store ``db``, with ``env`` added."""
    env = {**os.environ, "RADAR_DB": str(db), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "radar", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("radar: error: "), result.stderr
    return lines[0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "radar.db"


@pytest.fixture
def case(db: Path, shared_images: Path) -> str:
    assert radar(db, "case", "create", "c1", "--title", "Test case").returncode == 0
    refs = [str(shared_images / KODAK / f"kodim0{i}.png") for i in (1, 2, 3)]
    result = radar(db, "case", "add-references", "c1", *refs)
    assert result.returncode == 0, result.stderr
    stored = len(CrawlStore(db).references("c1"))
    assert stored > 3 * 16, "each picture is stored under many variants"
    assert f"added {stored} hashes for 3 reference pictures" in result.stdout
    return "c1"


def recompressed(path: Path, out: Path, quality: int = 40) -> Path:
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").save(buffer, "JPEG", quality=quality)
    out.write_bytes(buffer.getvalue())
    return out


def test_hash_prints_one_json_object_per_file(
    db: Path, shared_images: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    photo = shared_images / KODAK / "kodim01.png"
    result = radar(db, "hash", str(photo), str(bad), str(tmp_path / "missing.jpg"))
    assert result.returncode == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["file"] == str(photo)
    assert len(rows[0]["pdq"]) == 64 and len(rows[0]["phash"]) == 16
    assert rows[0]["pdq_quality"] == 100 and (rows[0]["width"], rows[0]["height"]) == (500, 500)
    assert rows[1]["error"].startswith("not_image")
    assert rows[2]["error"].startswith("unreadable")


def test_check_matches_with_the_crawler_rule(
    db: Path, case: str, shared_images: Path, tmp_path: Path
) -> None:
    copy = recompressed(shared_images / KODAK / "kodim02.png", tmp_path / "copy.jpg")
    mirrored = tmp_path / "mirrored.png"
    Image.open(shared_images / KODAK / "kodim03.png").transpose(
        Image.Transpose.FLIP_LEFT_RIGHT
    ).save(mirrored)
    unrelated = shared_images / KODAK / "kodim20.png"
    result = radar(db, "check", case, str(copy), str(mirrored), str(unrelated))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {h["reference"] for h in rows[0]["hits"]} == {"kodim02"}
    assert {h["algorithm"] for h in rows[0]["hits"]} == {"pdq", "phash"}
    assert all(h["distance"] <= 31 for h in rows[0]["hits"])
    assert {(h["reference"], h["variant"]) for h in rows[1]["hits"]} == {("kodim03", "flip-x")}
    assert rows[2] == {"file": str(unrelated), "pdq_quality": 100, "hits": []}


def _export(db: Path, case: str, *args: str) -> str:
    result = radar(db, "case", "export", case, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_case_show_list_and_export_roundtrip(db: Path, case: str) -> None:
    stored = CrawlStore(db).references(case)
    shown = radar(db, "case", "show", case).stdout
    assert f"references: 3 ({len(stored)} hashes)" in shown and "PDQ distance <= 31" in shown
    assert "c1" in radar(db, "case", "list").stdout
    originals = [r.hash for r in stored if r.algorithm == "pdq" and r.variant == "original"]
    assert len(originals) == 3
    # By default one hash per reference, its original's PDQ, under an opaque id.
    rows = list(csv.DictReader(io.StringIO(_export(db, case, "--format", "csv"))))
    assert [(r["algorithm"], r["hash"], r["variant"]) for r in rows] == [
        ("pdq", h, "original") for h in originals
    ]
    ids = [r["reference"] for r in rows]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"ref-\d+", i) for i in ids)
    te = _export(db, case, "--format", "te")
    assert te.splitlines() == [f"pdq {h}" for h in originals]
    document = json.loads(_export(db, case))
    assert [r["reference"] for r in document["references"]] == ids
    assert document["case"] == {
        "id": case,
        "rule": {"pdq_threshold": 31, "phash_threshold": 6, "min_pdq_quality": 50},
        "dihedral": True,
        "priority": 0,
    }
    # Every variant with --variants: the same ids, and it reads back whole.
    variants = _export(db, case, "--format", "csv", "--variants")
    assert len(variants.splitlines()) == len(stored) + 1
    assert {r["reference"] for r in csv.DictReader(io.StringIO(variants))} == set(ids)
    for text in (variants, te, _export(db, case, "--variants")):
        assert "kodim" not in text and "Test case" not in text  # no label, no title
    csv_file = Path(db.parent / "export.csv")
    csv_file.write_text(variants)
    assert radar(db, "case", "create", "c2").returncode == 0
    imported = radar(db, "case", "import-hashes", "c2", str(csv_file))
    assert imported.returncode == 0, imported.stderr
    assert f"imported {len(stored)} new hashes" in imported.stdout

    def hashes(name: str) -> set[tuple[object, ...]]:
        refs = json.loads(_export(db, name, "--variants"))["references"]
        return {(r["algorithm"], r["hash"], r["quality"], r["variant"]) for r in refs}

    assert hashes("c2") == hashes(case)
    assert {r.label for r in CrawlStore(db).references("c2")} == set(ids)
    # python-threatexchange's file reads back as the three originals.
    te_file = db.parent / "export.te"
    te_file.write_text(te)
    assert radar(db, "case", "create", "c3").returncode == 0
    assert "imported 3 new" in radar(db, "case", "import-hashes", "c3", str(te_file)).stdout
    assert [r.hash for r in CrawlStore(db).references("c3")] == originals
    # The ids are stable: another reference leaves them as they were.
    more = db.parent / "more.txt"
    more.write_text("ab" * 32 + ",another\n")
    assert radar(db, "case", "import-hashes", case, str(more)).returncode == 0
    again = list(csv.DictReader(io.StringIO(_export(db, case, "--format", "csv"))))
    assert [r["reference"] for r in again][:3] == ids and len(again) == 4


def test_exports_carry_no_label_and_say_what_te_leaves_out(db: Path, tmp_path: Path) -> None:
    """Labels that name a person never leave the store: not in CSV, JSON or te exports,
    with or without variants; te (PDQ only) says which references it could not write."""
    assert radar(db, "case", "create", "named", "--title", "Photos of Maria Perez").returncode == 0
    listing = tmp_path / "list.csv"
    listing.write_text(
        "pdq,phash,label,quality,variant\n"
        f"{'ab' * 32},{'cd' * 8},Maria Perez,100,original\n"
        f"{'ac' * 32},,Maria Perez,100,flip-x\n"
        f",{'ce' * 8},Juan Garcia,,original\n"
    )
    assert "imported 4 new" in radar(db, "case", "import-hashes", "named", str(listing)).stdout
    for args in ((), ("--variants",)):
        for fmt in ("csv", "json", "te"):
            text = _export(db, "named", "--format", fmt, *args)
            assert "Maria" not in text and "Juan" not in text and "Perez" not in text
    one = list(csv.DictReader(io.StringIO(_export(db, "named", "--format", "csv"))))
    assert [(r["algorithm"], r["hash"]) for r in one] == [("pdq", "ab" * 32), ("phash", "ce" * 8)]
    te = radar(db, "case", "export", "named", "--format", "te", "--variants")
    assert te.stdout.splitlines() == [f"pdq {'ab' * 32}", f"pdq {'ac' * 32}"]
    assert "1 references without a PDQ hash left out" in te.stderr


def test_import_hash_lists(db: Path, tmp_path: Path) -> None:
    assert radar(db, "case", "create", "imp").returncode == 0
    plain = tmp_path / "list.txt"
    bridge = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    plain.write_text(f"# hotline list\n{bridge},bridge,100\n")
    assert "imported 1 new" in radar(db, "case", "import-hashes", "imp", str(plain)).stdout
    js = tmp_path / "list.json"
    js.write_text(json.dumps([{"pdq": "ab" * 32, "label": "x", "quality": 90}, "cd" * 32]))
    assert "imported 2 new" in radar(db, "case", "import-hashes", "imp", str(js)).stdout
    again = radar(db, "case", "import-hashes", "imp", str(js))
    assert "imported 0 new hashes (2 already known)" in again.stdout


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        # `threatexchange hash photo` and the file exchange's signal files
        (f"pdq {MODS[0]}\npdq {MODS[1]}\n", "auto"),
        (f"pdq {MODS[0]}\npdq {MODS[1]}\n", "te"),
        (f"{MODS[0]}\npdq\t{MODS[1]}\n", "te"),  # a collaboration that names the type
        (f"\n# fetched\npdq {MODS[0]} POSITIVE_CLASS tag1,tag2\nPDQ {MODS[1].upper()}\n", "auto"),
        # `threatexchange dataset -P --csv`
        (
            "collab,signal_type,signal_str,category,tags\n"
            f"Sample,pdq,{MODS[0]},POSITIVE_CLASS,\nSample,pdq,{MODS[1]},,a b\n",
            "auto",
        ),
        # one line "pdq,<hex>" is a hash, not a header (it was read as one: "empty")
        (f"pdq,{MODS[0]}\n", "auto"),
        (f"pdq,{MODS[0]}\n{MODS[1]},bridge-2\n", "csv"),
    ],
)
def test_import_threatexchange_signal_files(
    db: Path, tmp_path: Path, content: str, fmt: str
) -> None:
    assert radar(db, "case", "create", "te").returncode == 0
    signals = tmp_path / "signals.txt"
    signals.write_text(content)
    result = radar(db, "case", "import-hashes", "te", str(signals), "--format", fmt)
    assert result.returncode == 0, result.stderr
    expected = [h for h in MODS[:2] if h in content.lower()]
    assert f"imported {len(expected)} new" in result.stdout
    assert [(r.algorithm, r.hash) for r in CrawlStore(db).references("te")] == [
        ("pdq", h) for h in expected
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("ab" * 32 + "\nnot-a-hash\n", "line 2: not a pdq hash"),
        ("pdq,label\n" + "ab" * 31 + ",x\n", "line 2: not a pdq hash"),
        ('[{"label": "no hash"}]', "entry 1: no hash"),
        ("[1, 2]", "entry 1: expected a hex string or an object"),
        ('{"references": ', "not valid JSON"),
        ("ab" * 32 + ",x,abc\n", "quality 'abc' is not a whole number"),
        ("", "hash list is empty"),
        ("pdq,label\n", "hash list is empty"),
        # python-threatexchange's lines, and a first line that is neither data nor header
        ("pdq " + "ab" * 31 + "\n", "line 1: not a pdq hash"),
        (
            "# list\n\npdq " + "ab" * 32 + "\nmd5 d41d8cd98f00b204e9800998ecf8427e\n",
            "line 4: signal type 'md5'",
        ),
        ("pdq," + "ab" * 31 + "\n", "line 1: not a pdq hash"),
        ("ab" * 32 + "\n" + "x" * 200_000 + "\n", "line 2: field larger than field limit"),
        # Found by tests/fuzz: these raised RecursionError and OverflowError (tracebacks).
        ("[" * 5000, "nested too deeply"),
        ('[{"pdq": "' + "ab" * 32 + '", "quality": 1e400}]', "is not a whole number"),
    ],
)
def test_malformed_hash_list_changes_nothing(
    db: Path, tmp_path: Path, content: str, message: str
) -> None:
    assert radar(db, "case", "create", "imp").returncode == 0
    good = tmp_path / "good.txt"
    good.write_text("ab" * 32 + "\n")
    radar(db, "case", "import-hashes", "imp", str(good))
    before = radar(db, "case", "export", "imp").stdout
    bad = tmp_path / "bad.txt"
    bad.write_text(content)
    assert message in one_line_error(radar(db, "case", "import-hashes", "imp", str(bad)))
    assert radar(db, "case", "export", "imp").stdout == before


@pytest.mark.parametrize(
    "args",
    [
        ("case", "show", "nope"),
        ("case", "export", "nope"),
        ("case", "export-hits", "nope"),
        ("case", "export-notices", "nope"),
        ("case", "add-references", "nope", "{kodak}"),
        ("case", "import-hashes", "nope", "{kodak}"),
        ("case", "add-target", "nope", "https://example.org/"),
        ("check", "nope", "{kodak}"),
        ("crawl", "nope"),
        ("hits", "--case", "nope"),
    ],
)
def test_unknown_case_is_one_line_error(
    db: Path, shared_images: Path, args: tuple[str, ...]
) -> None:
    photo = str(shared_images / KODAK / "kodim01.png")
    line = one_line_error(radar(db, *(a.replace("{kodak}", photo) for a in args)))
    assert "no case 'nope'" in line


def test_bad_input_is_one_line_error_and_changes_nothing(
    db: Path, case: str, tmp_path: Path
) -> None:
    before = radar(db, "case", "export", case).stdout
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    assert "junk.jpg" in one_line_error(radar(db, "case", "add-references", case, str(junk)))
    assert "no such file" in one_line_error(
        radar(db, "case", "add-references", case, str(tmp_path / "missing"))
    )
    for url in ("ftp://example.org/", "not a url", "http://"):
        assert "bad target URL" in one_line_error(radar(db, "case", "add-target", case, url))
    assert "exists already" in one_line_error(radar(db, "case", "create", case))
    assert "bad case id" in one_line_error(radar(db, "case", "create", "Bad Id!"))
    assert "no targets" in one_line_error(radar(db, "crawl", case))
    assert radar(db, "case", "export", case).stdout == before
    assert (
        radar(db, "case", "add-target", case, "https://x.example/", "--every", "soon").returncode
        == 2
    )  # argparse usage error


def test_notices_recheck_waits_its_turn_behind_a_running_round(db: Path) -> None:
    """A cron `radar notices recheck` while a review replica runs the notice round says so
    and exits 1 (it would draft the same reminders twice); after the round it runs."""
    from store.db import exclusive

    CrawlStore(db).close()
    with exclusive(db, "notice-round") as held:
        assert held
        busy = radar(db, "notices", "recheck")
    assert "another process (a review replica) is running the notice round" in (
        one_line_error(busy)
    )
    done = radar(db, "notices", "recheck")
    assert done.returncode == 0, done.stderr
    assert "re-checked 0 URLs" in done.stdout


def test_targets_record_whether_they_pass_age_gates(db: Path) -> None:
    assert radar(db, "case", "create", "gated").returncode == 0
    on = radar(db, "case", "add-target", "gated", "https://a.example/")
    assert on.returncode == 0 and "passes age gates" in on.stdout
    off = radar(db, "case", "add-target", "gated", "https://b.example/", "--no-pass-gates")
    assert off.returncode == 0 and "stops at age gates" in off.stdout
    feed = radar(db, "target", "add", "gated", "https://a.example/feed", "--kind", "feed")
    opted = radar(
        db,
        "target",
        "add",
        "gated",
        "https://a.example/map.xml",
        "--kind",
        "sitemap",
        "--pass-gates",
    )
    assert feed.returncode == opted.returncode == 0
    listed = radar(db, "target", "list", "--case", "gated").stdout.splitlines()
    assert [" gates " in line for line in listed] == [True, False, False, True]
    store = CrawlStore(db)
    assert [t.pass_gates for t in store.targets("gated")] == [True, False, False, True]
    store.close()


def test_case_hits_and_notices_export_without_labels(db: Path, tmp_path: Path) -> None:
    """``radar case export-hits`` / ``export-notices``: the case's hits and the notices
    naming its URLs, under the reference ids of ``radar case export``; no label, hit id,
    typed notice field, recipient or drafting user (and hits hold no image bytes)."""
    import dataclasses

    from notices.storage import NoticeUrl, SqlNoticeStore
    from tests.notices.samples import URLS, notice
    from wire.records import Hit, MatchEvidence

    def hit(case: str, label: str, url: str, site: str, distance: int) -> Hit:
        evidence = [MatchEvidence("pdq", distance), MatchEvidence("phash", 2, "rotate-90")]
        return Hit(
            case,
            label,
            "pdq",
            distance,
            url,
            f"https://{site}/page",
            site,
            "2026-03-01T00:00:00Z",
            200,
            "ab" * 32,
            evidence,
        )

    case, label = URLS[0].case_id, URLS[0].reference_label
    assert radar(db, "case", "create", case, "--title", "Photos of Jane Doe").returncode == 0
    assert radar(db, "case", "create", "other").returncode == 0
    listing = tmp_path / "list.csv"
    listing.write_text(f"pdq,label\n{'ab' * 32},{label}\n{'ac' * 32},Juan Garcia\n")
    assert radar(db, "case", "import-hashes", case, str(listing)).returncode == 0
    store = CrawlStore(db)
    hits = [
        hit(case, label, URLS[0].url, "img.tube.example", 4),
        hit(case, "Juan Garcia", "https://img.tube.example/u/other.jpg", "img.tube.example", 9),
        hit("other", "r1", "https://elsewhere.example/x.jpg", "elsewhere.example", 2),
    ]
    store.upsert_hits(hits)
    notices = SqlNoticeStore(db)
    sent = notices.create_notice(
        dataclasses.replace(notice("takeitdown"), created_by="staffer-x", id=0)
    )
    notices.create_notice(
        dataclasses.replace(
            notice("dsa"),
            urls=(
                NoticeUrl(
                    "c" * 32,
                    hits[2].image_url,
                    "https://elsewhere.example/",
                    "other",
                    "r1",
                    2,
                    "ef" * 32,
                ),
            ),
            id=0,
            parent_id=None,
        )
    )
    ids = {
        r["hash"]: r["reference"]
        for r in csv.DictReader(io.StringIO(_export(db, case, "--format", "csv")))
    }
    hit_ids = [h.id for h in hits] + [u.hit_id for u in URLS]
    secret = [label, "Juan", "Jane Doe", "Lea Legal", "staffer-x", "abuse@hosting.example"]
    outputs = {}
    for command in ("export-hits", "export-notices"):
        for fmt in ("csv", "json"):
            result = radar(db, "case", command, case, "--format", fmt)
            assert result.returncode == 0, result.stderr
            outputs[command, fmt] = result.stdout
            for text in (*secret, *hit_ids, "elsewhere.example"):
                assert text not in result.stdout, (command, fmt, text)
    rows = list(csv.DictReader(io.StringIO(outputs["export-hits", "csv"])))
    assert [(r["reference"], r["image_url"], r["distance"]) for r in rows] == [
        (ids["ab" * 32], URLS[0].url, "4"),
        (ids["ac" * 32], "https://img.tube.example/u/other.jpg", "9"),
    ]
    assert rows[0]["matches"] == "pdq:original:4 phash:rotate-90:2"
    assert rows[0]["status"] == "pending" and rows[0]["content_sha256"] == "ab" * 32
    document = json.loads(outputs["export-hits", "json"])
    assert document["case"] == case and len(document["hits"]) == 2
    assert document["hits"][0]["matches"][1] == {
        "algorithm": "phash",
        "distance": 2,
        "variant": "rotate-90",
    }
    [one] = json.loads(outputs["export-notices", "json"])["notices"]
    assert (one["notice"], one["regime"], one["host"], one["status"]) == (
        sent.id,
        "takeitdown",
        "img.tube.example",
        "sent",
    )
    assert [(u["url"], u["reference"], u["state"]) for u in one["urls"]] == [
        (URLS[0].url, ids["ab" * 32], "online"),
        (URLS[1].url, ids["ab" * 32], "online"),
    ]
    lines = list(csv.DictReader(io.StringIO(outputs["export-notices", "csv"])))
    assert [(r["notice"], r["url"], r["sent_at"]) for r in lines] == [
        (str(sent.id), u.url, sent.sent_at) for u in URLS
    ]
