"""Notes on hits and the queue's marks in the review store, on SQLite and PostgreSQL;
revision 0005 adds the notes table to a store made before it."""

from __future__ import annotations

from pathlib import Path

from review.storage import Note, SqlReviewStore
from tests.store.test_service_db import schema_drift, store_at


def test_notes_are_kept_per_hit_oldest_first_with_author_and_time(service_db: str) -> None:
    review = SqlReviewStore(service_db)
    try:
        first = review.add_note(Note("h1", "ana", "same watermark as h0", "2026-03-01T10:00:00Z"))
        review.add_note(Note("h2", "ben", "elsewhere", "2026-03-01T09:00:00Z"))
        second = review.add_note(Note("h1", "adm", "line one\nline two", "2026-03-01T11:00:00Z"))
        assert first.id and second.id and first.id != second.id
        assert review.notes("h1") == [
            Note("h1", "ana", "same watermark as h0", "2026-03-01T10:00:00Z", first.id),
            Note("h1", "adm", "line one\nline two", "2026-03-01T11:00:00Z", second.id),
        ]
        assert review.notes("h3") == []
        assert review.note_counts(["h1", "h2", "h3"]) == {"h1": 2, "h2": 1}
        assert review.note_counts([]) == {}
    finally:
        review.close()


def test_skips_say_until_when_for_the_hits_asked(service_db: str) -> None:
    review = SqlReviewStore(service_db)
    try:
        review.skip("h1", "ana", "2026-03-01T11:00:00Z")
        review.skip("h2", "ana", "2026-03-01T09:00:00Z")  # over already
        review.skip("h3", "ben", "2026-03-01T11:00:00Z")
        now = "2026-03-01T10:00:00Z"
        assert review.skips("ana", now, ["h1", "h2", "h3"]) == {"h1": "2026-03-01T11:00:00Z"}
        assert review.skips("ana", now, []) == {}
    finally:
        review.close()


def test_a_store_at_revision_0004_gets_the_notes_table(tmp_path: Path) -> None:
    path = tmp_path / "at0004.db"
    store_at(path, "0004")
    review = SqlReviewStore(path)  # opening migrates it
    review.add_note(Note("h1", "ana", "kept", "2026-03-01T10:00:00Z"))
    assert [n.text for n in review.notes("h1")] == ["kept"]
    review.close()
    assert schema_drift(str(path)) == []
