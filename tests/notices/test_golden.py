"""Golden files for each regime's notice: the PDF's extracted text and the ``.eml``.

Regenerate after an intended change with ``RADAR_UPDATE_GOLDEN=1 pytest tests/notices``
and review the diff like code.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from notices.render import as_eml, as_pdf, document, subject
from tests.notices.samples import SENT_AT, notice

GOLDEN = Path(__file__).parent / "golden"
REGIMES = ("dsa", "takeitdown", "dmca")


def check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("RADAR_UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with RADAR_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip() + "\n"


@pytest.mark.parametrize("regime", REGIMES)
def test_pdf_text(regime: str) -> None:
    n = notice(regime)
    data = as_pdf(document(n, SENT_AT), subject(n))
    assert data.startswith(b"%PDF")
    assert data == as_pdf(document(n, SENT_AT), subject(n))  # deterministic bytes
    text = pdf_text(data)
    assert "victim-name-must-not-appear" not in text  # labels never leave the hotline
    check(f"{regime}.pdf.txt", text)


@pytest.mark.parametrize("regime", REGIMES)
def test_eml(regime: str) -> None:
    n = notice(regime)
    pdf = as_pdf(document(n, SENT_AT), subject(n))
    raw = as_eml(n, SENT_AT, "notices@hotline.example", pdf).as_bytes().decode()
    assert "victim-name-must-not-appear" not in raw
    # The attachment is checked as a PDF above; here only its place in the message.
    raw = re.sub(
        r"(filename=\"RR-00042.pdf\"\r\n\r\n)[A-Za-z0-9+/=\r\n]+?(\r\n--)", r"\1<PDF>\2", raw
    )
    check(f"{regime}.eml", raw.replace("\r\n", "\n"))
