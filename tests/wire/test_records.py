"""The hashed-image record on the wire, and the deterministic hit id."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from wire import (
    HASHES_TOPIC,
    HITS_TOPIC,
    SCHEMA_VERSION,
    HashRecord,
    Hit,
    PageRequest,
    RecordError,
    decode_bank_entry,
    hit_id,
)

VALID: dict[str, Any] = {
    "image_url": "https://example.org/img/1.jpg",
    "page_url": "http://example.org/gallery?page=2",
    "site": "example.org",
    "case_id": "case-1",
    "target_id": 7,
    "fetched_at": "2026-11-23T02:43:43Z",
    "http_status": 200,
    "content_sha256": "0f" * 32,
    "width": 640,
    "height": 480,
    "pdq": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
    "pdq_quality": 100,
    "phash": "aca29c1c33dc23d7",
    "schema_version": 1,
}
INT_FIELDS = ["target_id", "http_status", "width", "height", "pdq_quality", "schema_version"]
STR_FIELDS = [k for k in VALID if k not in INT_FIELDS]


def raw(**changes: Any) -> bytes:
    return json.dumps({**VALID, **changes}).encode()


def without(field: str) -> bytes:
    return json.dumps({k: v for k, v in VALID.items() if k != field}).encode()


def test_topics_and_version() -> None:
    assert SCHEMA_VERSION == 1
    assert (HASHES_TOPIC, HITS_TOPIC) == ("images.hashed.v1", "hits.matched.v1")


def test_json_roundtrip() -> None:
    record = HashRecord.from_json(raw())
    assert record.to_dict() == VALID
    assert HashRecord.from_json(record.to_json()) == record
    assert json.loads(record.to_json()) == VALID
    assert record.key == "example.org"
    # Compact and key-sorted, so equal records are equal bytes.
    assert record.to_json() == json.dumps(VALID, separators=(",", ":"), sort_keys=True).encode()


def test_the_crawl_round_is_optional_and_travels() -> None:
    record = HashRecord.from_json(raw(crawl_id="7@2026-12-03T07:00:00Z"))
    assert record.crawl_id == "7@2026-12-03T07:00:00Z"
    assert HashRecord.from_json(record.to_json()) == record
    assert HashRecord.from_json(raw()).crawl_id == ""
    assert "crawl_id" not in json.loads(HashRecord.from_json(raw()).to_json())  # as before
    with pytest.raises(RecordError, match="field 'crawl_id' has the wrong type"):
        HashRecord.from_json(raw(crawl_id=7))


def test_unknown_fields_are_ignored_and_version_defaults() -> None:
    record = HashRecord.from_json(raw(extra="x"))
    assert "extra" not in record.to_dict()
    assert HashRecord(**{k: v for k, v in VALID.items() if k != "schema_version"}) == record


@pytest.mark.parametrize("field", list(VALID))
def test_missing_field_is_named(field: str) -> None:
    with pytest.raises(RecordError, match=f"missing field '{field}'"):
        HashRecord.from_json(without(field))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *((f, "7") for f in INT_FIELDS),
        *((f, True) for f in INT_FIELDS),
        *((f, 1.5) for f in INT_FIELDS),
        *((f, None) for f in INT_FIELDS),
        *((f, 7) for f in STR_FIELDS),
        *((f, None) for f in STR_FIELDS),
        *((f, ["x"]) for f in STR_FIELDS),
    ],
)
def test_wrong_type_is_named(field: str, value: Any) -> None:
    with pytest.raises(RecordError, match=f"field '{field}' has the wrong type"):
        HashRecord.from_json(raw(**{field: value}))


@pytest.mark.parametrize("field", ["image_url", "page_url"])
@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.org/a.jpg",
        "ftp://example.org/a.jpg",
        "https://",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "file:///etc/passwd",
    ],
)
def test_non_http_url_is_named(field: str, url: str) -> None:
    with pytest.raises(RecordError, match=f"field '{field}' is not an http"):
        HashRecord.from_json(raw(**{field: url}))


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"pdq": "zz" + VALID["pdq"][2:]}, "pdq"),
        ({"pdq": VALID["pdq"][:-1]}, "pdq"),
        ({"pdq": VALID["phash"]}, "pdq"),
        ({"pdq": ""}, "pdq"),
        ({"phash": "g" * 16}, "phash"),
        ({"phash": VALID["pdq"]}, "phash"),
        ({"phash": VALID["phash"] + "0"}, "phash"),
        ({"content_sha256": "0f" * 31}, "content_sha256"),
        ({"content_sha256": ""}, "content_sha256"),
        # BUG (wire/records.py HashRecord.from_dict): only the length of content_sha256 is
        # checked, so 64 non-hex characters pass although the error promises a hex digest.
        ({"content_sha256": "z" * 64}, "content_sha256"),
        ({"schema_version": 2}, "schema_version"),
        ({"schema_version": 0}, "schema_version"),
    ],
    ids=[
        "pdq-non-hex",
        "pdq-short",
        "pdq-is-phash",
        "pdq-empty",
        "phash-non-hex",
        "phash-is-pdq",
        "phash-long",
        "sha-short",
        "sha-empty",
        "sha-non-hex",
        "schema-2",
        "schema-0",
    ],
)
def test_bad_value_is_named(changes: dict[str, Any], named: str) -> None:
    with pytest.raises(RecordError) as info:
        HashRecord.from_json(raw(**changes))
    assert re.search(rf"\b{named}\b", str(info.value)), str(info.value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\x80\x81 binary", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b"null", "not a JSON object"),
    ],
)
def test_not_a_record(value: bytes, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        HashRecord.from_json(value)


def test_upper_case_hashes_are_accepted() -> None:
    record = HashRecord.from_json(raw(pdq=VALID["pdq"].upper(), phash=VALID["phash"].upper()))
    assert record.pdq.lower() == VALID["pdq"]


def test_hit_id_is_deterministic_and_distinct() -> None:
    base = hit_id("case-1", "ref-a", "https://example.org/1.jpg")
    assert re.fullmatch(r"[0-9a-f]{32}", base)
    assert hit_id("case-1", "ref-a", "https://example.org/1.jpg") == base
    others = {
        hit_id("case-2", "ref-a", "https://example.org/1.jpg"),
        hit_id("case-1", "ref-b", "https://example.org/1.jpg"),
        hit_id("case-1", "ref-a", "https://example.org/2.jpg"),
        hit_id("case-1", "ref-a", "https://example.org/1.jpg?x=1"),
        # The separator keeps shifted boundaries apart.
        hit_id("case-1r", "ef-a", "https://example.org/1.jpg"),
        hit_id("case-1", "ref-ah", "ttps://example.org/1.jpg"),
    }
    assert len(others) == 6 and base not in others


def test_hit_id_property_uses_hit_id() -> None:
    made = Hit(
        case_id="case-1",
        reference_label="ref-a",
        algorithm="pdq",
        distance=3,
        image_url="https://example.org/1.jpg",
        page_url="https://example.org/",
        site="example.org",
        fetched_at="2026-11-23T02:43:43Z",
        http_status=200,
        content_sha256="0f" * 32,
    )
    assert made.id == hit_id("case-1", "ref-a", "https://example.org/1.jpg")
    assert made.to_dict()["id"] == made.id
    assert made.to_dict()["status"] == "pending"


def test_page_requests_carry_what_the_target_is() -> None:
    from wire import PageRequest

    page = PageRequest(
        "https://t.me/s/chan",
        "c",
        1,
        0,
        2,
        10,
        ("t.me",),
        target_kind="telegram",
        parse_as="channel",
        render="browser",
        crawl_id="1@now",
        pass_gates=False,
    )
    assert PageRequest.from_json(page.to_json()) == page
    old = json.loads(page.to_json())
    del old["pass_gates"]  # from before the field: the kind's default (off for channels)
    assert PageRequest.from_json(json.dumps(old).encode()).pass_gates is False
    for name in ("target_kind", "parse_as", "render"):
        del old[name]  # a v1 request from before these fields: an HTML page as served
    parsed = PageRequest.from_json(json.dumps(old).encode())
    assert (parsed.target_kind, parsed.parse_as, parsed.render) == ("website", "page", "http")
    assert parsed.pass_gates is True  # a website's default
    for name, bad in (
        ("target_kind", "forum"),
        ("parse_as", "pdf"),
        ("render", 3),
        ("pass_gates", "yes"),
    ):
        with pytest.raises(RecordError, match=name):
            PageRequest.from_json(json.dumps({**old, name: bad}).encode())


# Poison records (issue 12, row 5): each raised something other than RecordError (or was
# accepted and then failed in a store), so the matcher retried its batch forever.
POISON: dict[str, Any] = {
    "ipv6-bracket-image-url": raw(image_url="http://[::1/x"),
    "ipv6-bracket-page-url": raw(page_url="https://[fe80::1%eth0/"),
    "port-out-of-range": raw(image_url="http://example.org:99999/a.jpg"),
    "port-not-a-number": raw(page_url="http://example.org:port/"),
    "space-in-host": raw(image_url="http://exa mple.org/a.jpg"),
    "newline-in-url": raw(image_url="http://example.org/a.jpg\r\nX-Evil: 1"),
    "deeply-nested-json": b"[" * 30_000 + b"]" * 30_000,
    "deeply-nested-object": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "deeply-nested-field": raw(site=None)[:-1] + b', "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "4300-digit-integer": raw()[:-1] + b', "target_id": ' + b"7" * 4300 + b"}",
    "4301-digit-integer": raw()[:-1] + b', "target_id": ' + b"7" * 4301 + b"}",
    "5000-digit-field": raw()[:-1].replace(b'"width": 640', b'"width": ' + b"9" * 5000) + b"}",
    "huge-integer-target": raw(target_id=2**70),
    "negative-width": raw(width=-1),
    "http-status-70000": raw(http_status=70000),
    "nan-quality": raw()[:-1].replace(b'"pdq_quality": 100', b'"pdq_quality": NaN') + b"}",
    "infinity-width": raw()[:-1].replace(b'"width": 640', b'"width": Infinity') + b"}",
    "non-utf8": b'{"site": "\xff\xfe"}',
    "utf16": json.dumps(VALID).encode("utf-16"),
    "lone-surrogate": raw(case_id="\ud800"),
    "lone-surrogate-label-url": raw(image_url="https://example.org/\udfff.jpg"),
    "bad-timestamp": raw(fetched_at="yesterday"),
    "timestamp-with-offset": raw(fetched_at="2026-11-23T02:43:43+02:00"),
    "sha-with-newline": raw(content_sha256="0f" * 32 + "\n"),
    "huge-record": raw(extra="x" * (2 * 1024 * 1024)),
    "huge-string": raw(site="s" * 20_000),
    "object-as-field": raw(pdq={"hex": VALID["pdq"]}),
}


@pytest.mark.parametrize("value", list(POISON.values()), ids=list(POISON))
def test_poison_record_is_a_record_error(value: bytes) -> None:
    with pytest.raises(RecordError) as info:
        HashRecord.from_json(value)
    assert str(info.value), "a dead letter needs a reason"
    assert len(str(info.value)) < 500, "the reason is a sentence, not a copy of the input"


@pytest.mark.parametrize("value", [None, "{}", 42, ["x"]], ids=["none", "str", "int", "list"])
def test_value_that_is_not_bytes_is_a_record_error(value: Any) -> None:
    with pytest.raises(RecordError, match="not bytes"):
        HashRecord.from_json(value)


def test_reasons_name_the_problem() -> None:
    def reason(value: bytes) -> str:
        with pytest.raises(RecordError) as info:
            HashRecord.from_json(value)
        return str(info.value)

    assert reason(POISON["ipv6-bracket-image-url"]).startswith("field 'image_url' is not an http")
    assert reason(POISON["deeply-nested-json"]) == "not JSON: nested too deeply"
    assert reason(POISON["4300-digit-integer"]) == (
        "field 'target_id' is out of the signed 64-bit range"
    )
    assert reason(POISON["4301-digit-integer"]).startswith("not JSON: Exceeds the limit")
    assert reason(POISON["non-utf8"]).startswith("not JSON: not UTF-8")
    assert reason(POISON["huge-record"]).endswith("over the 65536 cap")
    assert reason(POISON["lone-surrogate"]) == "field 'case_id' is not valid Unicode"
    assert reason(POISON["bad-timestamp"]).startswith("field 'fetched_at' is not a UTC time")
    assert reason(POISON["nan-quality"]) == "not JSON: NaN is not a JSON number"


def test_the_largest_legitimate_record_still_parses() -> None:
    long_url = "https://example.org/" + "a" * (8192 - len("https://example.org/"))
    record = HashRecord.from_json(raw(image_url=long_url, page_url=long_url))
    assert record.image_url == long_url
    assert HashRecord.from_json(raw(http_status=304, target_id=2**63 - 1)).target_id == 2**63 - 1


@pytest.mark.parametrize(
    "name", ["deeply-nested-json", "4301-digit-integer", "utf16", "huge-record", "non-utf8"]
)
def test_every_wire_parser_refuses_poison_with_a_record_error(name: str) -> None:
    """The frontier and bank parsers share the record parser's JSON reading."""
    with pytest.raises(RecordError):
        PageRequest.from_json(POISON[name])
    with pytest.raises(RecordError):
        decode_bank_entry(POISON[name])
