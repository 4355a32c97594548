"""Fixed notices for golden files and validation tests (no clock, no randomness)."""

from __future__ import annotations

from typing import Any

from notices.regimes import default_fields
from notices.storage import Notice, NoticeUrl

NOTIFIER = {
    "notifier_name": "Lea Legal",
    "notifier_org": "Example Hotline",
    "notifier_email": "lea@hotline.example",
    "notifier_phone": "+34 900 000 000",
    "notifier_address": "Calle Mayor 1\r\n06200 Almendralejo\r\nSpain",  # as a textarea posts it
}
URLS = (
    NoticeUrl(
        "a" * 32,
        "https://img.tube.example/u/8f3a.jpg",
        "https://tube.example/watch/123",
        "hotline-2026-0042",
        "victim-name-must-not-appear",
        4,
        "ab" * 32,
    ),
    NoticeUrl(
        "b" * 32,
        "https://img.tube.example/u/91c0.jpg",
        "https://tube.example/watch/456",
        "hotline-2026-0042",
        "victim-name-must-not-appear",
        9,
        "cd" * 32,
    ),
)
COMPLETE: dict[str, dict[str, Any]] = {
    "dsa": {"bona_fide": True},
    "takeitdown": {
        "depicted_person": "Jane Doe (represented by Example Hotline)",
        "non_consent": True,
        "non_consent_info": "The depicted person never consented to the creation or publication.",
        "signature": "/s/ Lea Legal",
    },
    "dmca": {"good_faith": True, "accuracy": True, "signature": "/s/ Lea Legal"},
}
SENT_AT = "2026-03-02T09:30:00Z"


def notice(regime: str, **fields: Any) -> Notice:
    values = default_fields(
        regime, ["hotline-2026-0042"], NOTIFIER, "confirmed by two trained analysts"
    )
    values.update(COMPLETE[regime])
    values.update(fields)
    return Notice(
        host="img.tube.example",
        regime=regime,
        level="host",
        recipient="abuse@hosting.example",
        fields=values,
        created_by="lea",
        created_at="2026-03-02T09:00:00Z",
        urls=URLS,
        status="sent",
        sent_at=SENT_AT,
        id=42,
    )
