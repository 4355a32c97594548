"""Exchanged hash lists (``radar case import-hashes``) from another party: any text is a
list of valid references or one ValueError (the CLI's one-line error), never a crash;
python-threatexchange's ``pdq <hex>`` lines are read as hashes, and a first line that is
data is never taken for a header."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hashing import parse_hash
from store.hashlists import parse_hash_list
from tests.fuzz.strategies import nasty_text
from tests.fuzz.test_wire import json_values

PDQ = "f" * 64
cell = st.one_of(nasty_text, st.just(PDQ), st.just("pdq"), st.just("md5"), st.integers().map(str))
line = st.one_of(
    st.lists(cell, max_size=4).map(",".join),
    st.lists(cell, max_size=4).map(" ".join),  # python-threatexchange's blank-separated
)
csv_text = st.lists(line, max_size=6).map("\n".join)
json_text = st.one_of(
    json_values.map(json.dumps),
    st.lists(
        st.dictionaries(
            st.sampled_from(
                ["hash", "pdq", "phash", "label", "reference", "quality", "variant", "algorithm"]
            ),
            st.one_of(json_values, st.just(PDQ)),
            max_size=4,
        ),
        max_size=3,
    ).map(lambda entries: json.dumps({"references": entries})),
)
pdq_hex = st.binary(min_size=32, max_size=32).map(bytes.hex)
phash_hex = st.binary(min_size=8, max_size=8).map(bytes.hex)
# What may follow a signal on a line: blank-separated fields without a line break.
trailer = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=20)
filler = st.sampled_from(["", "   ", "# a comment", "\t# pdq " + "0" * 64])


def _parse(text: str, fmt: str) -> list[Any] | None:
    try:
        return parse_hash_list("c1", text, fmt)
    except ValueError:
        return None


@given(st.one_of(csv_text, json_text, nasty_text), st.sampled_from(["auto", "csv", "json", "te"]))
@example(f"pdq,label,quality\n{PDQ},a,1e999", "csv")
@example(f'[{{"hash": "{PDQ}", "quality": [1]}}]', "json")
@example('{"references": [{"hash": null}]}', "json")
@example("[" * 5000, "json")
@example(f'[{{"hash": "{PDQ}", "quality": 1e400}}]', "json")
@example(f"pdq {PDQ}\x85md5 x", "te")
@example("x" * 200_000, "csv")  # over the csv module's field limit: csv.Error before
def test_any_hash_list_is_references_or_a_value_error(text: str, fmt: str) -> None:
    for ref in _parse(text, fmt) or []:
        parse_hash(ref.algorithm, ref.hash)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["pdq", "PDQ", "phash"]),
            pdq_hex,
            phash_hex,
            st.sampled_from([" ", "\t", "  "]),
            trailer,
            filler,
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["auto", "csv", "te"]),
)
def test_threatexchange_signal_lines_are_read_as_their_hashes(
    lines: list[tuple[str, str, str, str, str, str]], fmt: str
) -> None:
    """``<signal type> <hash> [more fields]`` per line (python-threatexchange's file
    exchange and ``threatexchange hash``): every line gives its hash, in order, whatever
    follows it, between blank lines and comments."""
    text, expected = "", []
    for kind, pdq, phash, blank, rest, extra in lines:
        value = phash if kind == "phash" else pdq
        tail = f" {rest}" if rest.strip() else ""
        text += f"{extra}\n{kind}{blank}{value.upper() if kind == 'PDQ' else value}{tail}\n"
        expected.append((kind.lower(), value))
    refs = parse_hash_list("c1", text, fmt)
    assert [(r.algorithm, r.hash) for r in refs] == expected
    assert all(r.label == f"imported-{r.hash[:16]}" for r in refs)


@given(
    st.lists(
        st.tuples(st.sampled_from(["{h}", "pdq,{h}", "PDQ,{h},x,50", "pdq {h}"]), pdq_hex),
        min_size=1,
        max_size=4,
    )
)
def test_a_first_line_that_is_data_is_never_a_header(lines: list[tuple[str, str]]) -> None:
    """The bug: a one-line ``pdq,<hex>`` list was read as a header and came out empty."""
    text = "\n".join(pattern.format(h=h) for pattern, h in lines)
    assert [r.hash for r in parse_hash_list("c1", text)] == [h for _, h in lines]


@given(st.lists(filler, max_size=6), st.sampled_from(["auto", "csv", "te"]))
def test_errors_name_the_line_as_the_file_numbers_it(before: list[str], fmt: str) -> None:
    text = "\n".join([f"pdq {PDQ}", *before, "pdq " + "0" * 63])
    with pytest.raises(ValueError, match=f"^line {len(before) + 2}: not a pdq hash"):
        parse_hash_list("c1", text, fmt)
