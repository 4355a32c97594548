"""Exchanged hash lists (``radar case import-hashes``) from another party: any text is a
list of valid references or one ValueError (the CLI's one-line error), never a crash;
python-threatexchange's ``pdq <hex>`` lines are read as hashes, a first line that is
data is never taken for a header, and what ``radar case export`` writes reads back."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hashing import parse_hash
from store.hashlists import (
    case_export,
    export_rows,
    parse_hash_list,
    reference_ids,
    write_csv,
    write_te,
)
from store.models import Case, Reference
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


reference = st.builds(
    lambda label, alg, pdq, phash, quality, variant, n: Reference(
        "c1",
        "Victim " + label,
        alg,
        pdq if alg == "pdq" else phash,
        quality,
        variant,
        id=n,
    ),
    nasty_text,
    st.sampled_from(["pdq", "phash"]),
    pdq_hex,
    phash_hex,
    st.one_of(st.none(), st.integers(0, 100)),
    st.sampled_from(["original", "flip-x", "frame@1.000", "crop-0.9"]),
    st.integers(1, 10**9),
)


@given(st.lists(reference, max_size=12, unique_by=lambda r: r.id), st.booleans())
def test_exports_read_back_and_never_carry_a_label(refs: list[Reference], variants: bool) -> None:
    """CSV, JSON and python-threatexchange exports read back to the hashes they hold,
    each under its reference's opaque id (te: PDQ only, no ids), and no label is in them."""
    rows = export_rows(refs, variants=variants)
    ids = reference_ids(refs)
    assert len(set(ids.values())) == len(ids) == len({r.reference for r in rows})
    if variants:
        assert len(rows) == len(refs)
    for label, ref_id in ids.items():
        own = sorted((r for r in refs if r.label == label), key=lambda r: r.id)
        out = [(r.algorithm, r.hash, r.variant) for r in rows if r.reference == ref_id]
        originals = [r for r in own if r.variant == "original"]
        if variants:
            assert sorted(out) == sorted((r.algorithm, r.hash, r.variant) for r in own)
        elif originals:  # one hash: the original's PDQ if it has one
            pdq = [r for r in originals if r.algorithm == "pdq"]
            assert out == [
                ((pdq or originals)[0].algorithm, (pdq or originals)[0].hash, "original")
            ]
        else:  # a video's frames or an imported variant list: its PDQ rows
            pdq = [(r.algorithm, r.hash, r.variant) for r in own if r.algorithm == "pdq"]
            assert out == (pdq or [(own[0].algorithm, own[0].hash, own[0].variant)])
    csv_out, te_out = io.StringIO(), io.StringIO()
    write_csv(rows, csv_out)
    written = write_te(rows, te_out)
    json_out = json.dumps(case_export(Case("c1", "Victim's own title"), rows, []))
    for text in (csv_out.getvalue(), te_out.getvalue(), json_out):
        assert "Victim" not in text
    want = {(r.reference, r.algorithm, r.hash, r.quality, r.variant) for r in rows}
    for text, fmt in ((csv_out.getvalue(), "csv"), (json_out, "json")):
        back = parse_hash_list("c2", text, fmt) if rows else []
        assert {(r.label, r.algorithm, r.hash, r.quality, r.variant) for r in back} == want
    te_lines = te_out.getvalue().splitlines()
    assert written == len(te_lines) == len({r.hash for r in rows if r.algorithm == "pdq"})
    assert all(ln == f"pdq {ln[4:]}" and len(ln) == 68 for ln in te_lines)
    if te_lines:
        back = parse_hash_list("c2", te_out.getvalue(), "te")
        assert [r.hash for r in back] == [ln[4:] for ln in te_lines]
