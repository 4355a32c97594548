"""Wire records from a hostile producer: any bytes decode to a record or a RecordError
(a dead letter), never another exception that would jam a consumer; a valid record
survives the round trip unchanged."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from wire import HashRecord, RecordError
from wire.bank import decode_bank_entry
from wire.frontier import PageRequest

GOOD_RECORD: dict[str, Any] = {
    "schema_version": 1,
    "image_url": "https://img.example/a.jpg",
    "page_url": "https://img.example/",
    "site": "img.example",
    "case_id": "c1",
    "target_id": 1,
    "fetched_at": "2026-11-23T02:43:43Z",
    "http_status": 200,
    "content_sha256": "ab" * 32,
    "width": 10,
    "height": 20,
    "pdq": "0" * 64,
    "pdq_quality": 90,
    "phash": "0" * 16,
}
GOOD_REQUEST: dict[str, Any] = {
    "schema_version": 1,
    "url": "https://img.example/",
    "case_id": "c1",
    "target_id": 1,
    "depth": 0,
    "max_depth": 3,
    "max_pages": 10,
    "allowed_domains": ["img.example"],
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _decoders() -> list[Any]:
    return [HashRecord.from_json, PageRequest.from_json, decode_bank_entry]


def _only_record_errors(raw: bytes) -> None:
    for decode in _decoders():
        with contextlib.suppress(RecordError):
            decode(raw)


@given(st.binary(max_size=2048))
@example(b"[" * 100_000)
@example(b"1" * 5000)
@example(b'{"schema_version": 1e999}')
@example(b"\xff\xfe{\x00}\x00")
def test_any_bytes_are_a_record_or_a_record_error(raw: bytes) -> None:
    _only_record_errors(raw)


@given(json_values)
def test_any_json_is_a_record_or_a_record_error(value: Any) -> None:
    _only_record_errors(json.dumps(value).encode())


@given(
    st.sampled_from(sorted(GOOD_RECORD)),
    json_values,
    st.sampled_from([GOOD_RECORD, GOOD_REQUEST]),
)
@example("image_url", "http://[::1/x", GOOD_RECORD)
@example("url", "http://h.example:99999/", GOOD_REQUEST)
@example("width", 2**70, GOOD_RECORD)
def test_one_field_replaced_by_anything(key: str, value: Any, base: dict[str, Any]) -> None:
    """A valid record with one field swapped for any JSON value: still only RecordError."""
    _only_record_errors(json.dumps({**base, key: value}).encode())


@given(
    st.integers(min_value=100, max_value=999),
    st.integers(min_value=0, max_value=2**31 - 1),
    st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    st.integers(min_value=0, max_value=100),
)
def test_a_valid_hash_record_round_trips(status: int, side: int, pdq: str, quality: int) -> None:
    record = HashRecord.from_dict(
        {**GOOD_RECORD, "http_status": status, "width": side, "pdq": pdq, "pdq_quality": quality}
    )
    assert HashRecord.from_json(record.to_json()) == record


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.lists(st.text(max_size=20)))
def test_a_valid_page_request_round_trips(target_id: int, domains: list[str]) -> None:
    data = {**GOOD_REQUEST, "target_id": target_id, "allowed_domains": domains}
    request = PageRequest.from_json(json.dumps(data).encode())
    assert PageRequest.from_json(request.to_json()) == request
