"""Each regime refuses a notice that lacks one of its legally required elements."""

from __future__ import annotations

import pytest

from notices.regimes import REGIMES, regime
from tests.notices.samples import notice


def problems(key: str, **fields: object) -> list[str]:
    n = notice(key, **fields)
    return [p.field for p in regime(key).problems(n.fields, [u.url for u in n.urls])]


@pytest.mark.parametrize("key", sorted(REGIMES))
def test_a_complete_notice_passes(key: str) -> None:
    assert problems(key) == []


@pytest.mark.parametrize("key", sorted(REGIMES))
def test_exact_urls_are_required(key: str) -> None:
    n = notice(key)
    reg = regime(key)
    assert [p.field for p in reg.problems(n.fields, [])] == ["urls"]
    assert [p.field for p in reg.problems(n.fields, ["ftp://x.example/a"])] == ["urls"]
    assert [p.field for p in reg.problems(n.fields, ["tube.example/a.jpg"])] == ["urls"]


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ({"explanation": ""}, "explanation"),  # Art. 16(2)(a)
        ({"notifier_name": ""}, "notifier_name"),  # Art. 16(2)(c)
        ({"notifier_email": ""}, "notifier_email"),  # Art. 16(2)(c)
        ({"notifier_email": "not-an-address"}, "notifier_email"),
        ({"bona_fide": False}, "bona_fide"),  # Art. 16(2)(d)
    ],
)
def test_dsa_article_16(missing: dict[str, object], field: str) -> None:
    assert problems("dsa", **missing) == [field]


def test_dsa_name_and_email_may_be_omitted_for_child_sexual_abuse_offences() -> None:
    assert problems("dsa", notifier_name="", notifier_email="", csam_offence=True) == []
    assert problems("dsa", notifier_name="", notifier_email="", csam_offence=False) == [
        "notifier_name",
        "notifier_email",
    ]


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ({"signature": ""}, "signature"),
        ({"identification": ""}, "identification"),
        ({"depicted_person": ""}, "depicted_person"),
        ({"non_consent": False}, "non_consent"),
    ],
)
def test_take_it_down_act(missing: dict[str, object], field: str) -> None:
    assert problems("takeitdown", **missing) == [field]


def test_take_it_down_needs_some_contact_information() -> None:
    none = {"notifier_email": "", "notifier_phone": "", "notifier_address": ""}
    assert problems("takeitdown", **none) == ["notifier_email"]
    assert problems("takeitdown", **{**none, "notifier_phone": "+1 555 0100"}) == []


def test_take_it_down_has_the_48_hour_clock() -> None:
    assert regime("takeitdown").deadline_hours == 48
    assert regime("dsa").deadline_hours is None
    assert regime("dmca").deadline_hours is None


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ({"signature": ""}, "signature"),  # (i)
        ({"work": ""}, "work"),  # (ii)
        ({"identification": ""}, "identification"),  # (iii)
        ({"notifier_email": ""}, "notifier_email"),  # (iv)
        ({"notifier_address": "", "notifier_phone": ""}, "notifier_address"),  # (iv)
        ({"good_faith": False}, "good_faith"),  # (v)
        ({"accuracy": False}, "accuracy"),  # (vi)
    ],
)
def test_dmca_six_elements(missing: dict[str, object], field: str) -> None:
    assert problems("dmca", **missing) == [field]


def test_statements_are_fixed_legal_wording() -> None:
    dmca = regime("dmca")
    assert "under penalty of perjury" in dmca.field("accuracy").statement
    assert "not authorized by the copyright owner" in dmca.field("good_faith").statement
    assert "accurate and complete" in regime("dsa").field("bona_fide").statement
    assert "not consensual" in regime("takeitdown").field("non_consent").statement


def test_unknown_regime() -> None:
    with pytest.raises(ValueError, match="unknown regime"):
        regime("gdpr")
