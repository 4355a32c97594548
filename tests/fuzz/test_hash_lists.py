"""Exchanged hash lists (``radar case import-hashes``) from another party: any text is a
list of valid references or one ValueError (the CLI's one-line error), never a crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from hashing import parse_hash
from store.hashlists import parse_hash_list
from tests.fuzz.strategies import nasty_text
from tests.fuzz.test_wire import json_values

PDQ = "f" * 64
cell = st.one_of(nasty_text, st.just(PDQ), st.just("pdq"), st.integers().map(str))
csv_text = st.lists(st.lists(cell, max_size=4).map(",".join), max_size=6).map("\n".join)
json_text = st.one_of(
    json_values.map(json.dumps),
    st.lists(
        st.dictionaries(
            st.sampled_from(["hash", "pdq", "phash", "label", "quality", "variant", "algorithm"]),
            st.one_of(json_values, st.just(PDQ)),
            max_size=4,
        ),
        max_size=3,
    ).map(lambda entries: json.dumps({"references": entries})),
)


def _parse(text: str, fmt: str) -> list[Any] | None:
    try:
        return parse_hash_list("c1", text, fmt)
    except ValueError:
        return None


@given(st.one_of(csv_text, json_text, nasty_text), st.sampled_from(["auto", "csv", "json"]))
@example(f"pdq,label,quality\n{PDQ},a,1e999", "csv")
@example(f'[{{"hash": "{PDQ}", "quality": [1]}}]', "json")
@example('{"references": [{"hash": null}]}', "json")
@example("[" * 5000, "json")
@example(f'[{{"hash": "{PDQ}", "quality": 1e400}}]', "json")
def test_any_hash_list_is_references_or_a_value_error(text: str, fmt: str) -> None:
    for ref in _parse(text, fmt) or []:
        parse_hash(ref.algorithm, ref.hash)
