"""`complaint-gateway intake import FILE`: paper forms from a CSV or a Kobo/ODK export, each once.

Through the command line as an administrator runs it: three Kobo-style rows
file three cases and print their numbers and PINs; the same file again files
none; a semicolon CSV with a BOM and bad rows imports the good row and says
which rows failed; an XLSX built here imports like the CSV; two imports at
the same time still file each row once. Nothing printed or logged holds a
statement.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from gateway.cases.allegation import CHOICES, FIELDS
from gateway.cases.intake_import import column_key, import_row, read_rows, source_key
from gateway.cases.reports import ReceivedVia
from gateway.cli import main as cli_main
from gateway.core.accounts import AuditEntry
from gateway.core.models import Case, IntakeImport
from tests.support.jobs import run_jobs

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
KOBO = FIXTURES / "kobo_three_paper_forms.csv"
FILED = re.compile(r"^row (\d+): case (\d{4}-\d{6}-\d) PIN (\d{6})$", re.M)
STATEMENTS = ("driver said", "guard at the distribution", "asked for money", "agent a demand")


@pytest.fixture
def run(env, monkeypatch, tmp_path, capsys):  # type: ignore[no-untyped-def]
    """run(*args) -> (exit code, what was printed), with the test's environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def _run(*args: str) -> tuple[int, str]:
        code = cli_main(["intake", "import", *args, "--data-dir", str(tmp_path)])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return _run


def count(gw, model) -> int:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_three_paper_forms_file_three_cases_and_again_none(  # type: ignore[no-untyped-def]
    gw, run, tracker, caplog, capsys, tmp_path
) -> None:
    code, out = run(str(KOBO), "--by", "Field office Bria")
    assert code == 0, out
    filed = FILED.findall(out)
    assert [row for row, _n, _p in filed] == ["2", "3", "4"]
    run_jobs(gw)
    sent = [tracker.cases[number] for _row, number, _pin in filed]
    assert [c["received_via"] for c in sent] == ["paper", "community_network", "paper"]
    assert {c["channel"] for c in sent} == {"in_person"}
    assert [c["language"] for c in sent] == ["fr", "fr", "en"]
    assert sent[1]["urgency"] == {"danger_now": True, "child_involved": True}
    assert all("Field office" not in str(c) for c in sent)

    code, again = run(str(KOBO))
    assert code == 0 and FILED.findall(again) == []
    for _row, number, _pin in filed:
        assert f"already imported as {number}" in again
    assert count(gw, Case) == 3 and count(gw, IntakeImport) == 3
    for text in STATEMENTS:
        assert text not in out + again and text not in caplog.text.lower()
    with gw.sessions() as session:
        actors = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action.in_(["case.intake", "intake.import"]))
        ).all()
    assert actors.count("cli:Field office Bria") == 4  # three cases and the run
    assert cli_main(["cases", "list", "--json", "--data-dir", str(tmp_path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(r["received_via"] for r in listed) == ["community_network", "paper", "paper"]


def test_a_semicolon_csv_with_bad_rows_imports_the_good_ones(gw, run) -> None:  # type: ignore[no-untyped-def]
    code, out = run(str(FIXTURES / "semicolon_bom.csv"), "--language", "fr")
    assert code == 1
    assert [row for row, _n, _p in FILED.findall(out)] == ["2"]
    assert "row 3: not imported: no statement" in out
    assert "row 4: not imported: unknown category value" in out
    assert "menacé" not in out
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert (case.language, case.received_via, case.danger_now) == ("fr", "paper", False)


def test_an_xlsx_export_imports_like_the_csv(gw, run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    book = Workbook()
    sheet = book.active
    sheet.append(["group_report/what_happened", "group_report/category", "meta/instanceID"])
    sheet.append(["Told at the health post on Tuesday.", "other_misconduct", "uuid:x-1"])
    sheet.append([None, None, None])  # Kobo leaves empty rows at times
    sheet.append(["Told by a neighbour.", None, "uuid:x-2"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    code, out = run(str(path), "--received-via", "community_network")
    assert code == 0, out
    assert [row for row, _n, _p in FILED.findall(out)] == ["2", "4"]
    assert run(str(path))[1].count("already imported as") == 2
    with gw.sessions() as session:
        assert set(session.scalars(select(Case.received_via))) == {"community_network"}


@pytest.mark.parametrize(
    ("label", "content", "error"),
    [
        ("not UTF-8", "what_happened\nd\xe9j\xe0\n".encode("latin-1"), "UTF-8"),
        ("no statement column", b"where,when\nBangui,today\n", "what_happened"),
        ("empty", b"", "empty"),
        ("a broken workbook", b"PK\x03\x04broken", "workbook"),
    ],
)
def test_a_file_that_cannot_be_read_says_why_and_files_nothing(
    gw, run, tmp_path, label, content, error
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    code, out = run(str(path))
    assert code == 2 and error in out, label
    assert count(gw, Case) == 0


def test_two_imports_at_once_file_each_row_once(gw, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = read_rows(shutil.copy(KOBO, tmp_path / "same.csv"))
    outcomes = []

    def importer() -> None:
        for row in rows:
            outcomes.append(
                import_row(
                    gw,
                    row,
                    actor="cli:t",
                    language="en",
                    locales=["en", "fr"],
                    via=ReceivedVia.PAPER,
                )[0]
            )

    threads = [threading.Thread(target=importer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for o in outcomes if o.pin) == 3
    assert sum(1 for o in outcomes if o.already) == 3
    assert count(gw, Case) == 3


@pytest.mark.parametrize(
    ("column", "key"),
    [
        ("group_report/what_happened", "what_happened"),
        ("meta/instanceID", "instanceid"),
        (" What Happened ", "what_happened"),
        ("_uuid", "_uuid"),
    ],
)
def test_columns_are_matched_by_their_last_segment(column, key) -> None:  # type: ignore[no-untyped-def]
    assert column_key(column) == key


def test_a_row_without_an_instance_id_is_known_by_its_content() -> None:
    from gateway.cases.intake_import import Row

    one = Row(2, {"what_happened": "Told  in person", "where": "Bria"})
    same = Row(9, {"where": "Bria", "what_happened": "Told in person"})
    other = Row(2, {"what_happened": "Told in person", "where": "Bangui"})
    assert source_key(one) == source_key(same) != source_key(other)


def test_the_xlsform_collects_exactly_what_the_import_reads() -> None:
    import csv

    from gateway.cases.intake_import import KNOWN_COLUMNS

    with (FIXTURES / "xlsform_survey.csv").open(encoding="utf-8") as fh:
        survey = list(csv.DictReader(fh))
    kinds = ("text", "select_one", "integer")
    fields = {r["name"] for r in survey if r["type"].split()[0] in kinds}
    assert fields == set(KNOWN_COLUMNS)
    with (FIXTURES / "xlsform_choices.csv").open(encoding="utf-8") as fh:
        choices = {(r["list_name"], r["name"]) for r in csv.DictReader(fh)}
    offered = {name for list_name, name in choices if list_name == "category"}
    assert offered == {"sexual_exploitation", "sexual_abuse", "other_misconduct"}
    lists = {r["name"]: r["type"].split()[-1] for r in survey if r["type"].startswith("select_one")}
    for name, codes in CHOICES.items():  # every allegation code offered, and no other
        assert {code for list_name, code in choices if list_name == lists[name]} == set(codes)


ALLEGATION_CSV = """\
group_report/what_happened,group_allegation/allegation_type,personnel_category,\
victim_age_group,victims_count,incident_date,incident_area,paternity_claim
Told at the water point.,Sexual Exploitation,un_volunteer,minor,2,2026-10,Camp Bria 3,unknown
Told at the clinic.,,,,,,,
Told by a neighbour.,sexual_abuse,soldier,,,,,
Told at the market.,,,,0,,,
Told on the road.,,,,,last week,,
"""


def test_allegation_columns_are_filed_and_a_bad_value_fails_its_row(gw, run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "allegation.csv"
    path.write_text(ALLEGATION_CSV, encoding="utf-8")
    code, out = run(str(path))
    assert code == 1, out
    assert [row for row, _n, _p in FILED.findall(out)] == ["2", "3"]
    assert "row 4: not imported: unknown personnel_category value (one of: " in out
    assert "row 5: not imported: victims_count is not a whole number from 1 to 999" in out
    assert "row 6: not imported: incident_date is not YYYY, YYYY-MM or YYYY-MM-DD" in out
    assert "Camp Bria" not in out
    with gw.sessions() as session:
        filed = session.scalars(select(Case).order_by(Case.id)).all()
        assert [{name: getattr(c, name) for name in FIELDS} for c in filed] == [
            {
                "allegation_type": "sexual_exploitation",
                "personnel_category": "un_volunteer",
                "victim_age_group": "minor",
                "victims_count": 2,
                "incident_date": "2026-10",
                "incident_area": "Camp Bria 3",
                "paternity_claim": "unknown",
            },
            dict.fromkeys(FIELDS),
        ]


def test_allegation_cells_of_a_workbook_are_read_as_typed(gw, run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A spreadsheet keeps a number as 2 or 2.0 and a date as a date."""
    book = Workbook()
    sheet = book.active
    sheet.append(["what_happened", "victims_count", "incident_date"])
    sheet.append(["Told at the health post.", 2.0, datetime(2026, 10, 3)])
    sheet.append(["Told by a teacher.", 3, "2026"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    code, out = run(str(path))
    assert code == 0, out
    with gw.sessions() as session:
        rows = session.execute(
            select(Case.victims_count, Case.incident_date).order_by(Case.id)
        ).all()
    assert [tuple(r) for r in rows] == [(2, "2026-10-03"), (3, "2026")]
