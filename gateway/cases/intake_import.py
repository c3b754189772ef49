"""Batches of paper forms: a CSV or a KoboToolbox/ODK export, each row filed once as a case.

Columns are matched by the last segment of their name, as KoboToolbox and
ODK Central export them (`group_report/what_happened` is `what_happened`);
unknown columns are ignored. docs/intake.md lists the columns and their
values. A row is remembered by the SHA-256 of its form's instance id
(`_uuid`, `meta/instanceID`, `instanceID`) or, without one, of its
normalised content: the case and that key are written in one transaction,
so importing the file again (even at the same time, from another machine)
files nothing twice; the second import hears "already imported".
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.cases import allegation
from gateway.cases.allegation import AllegationError
from gateway.cases.filing import display_number
from gateway.cases.in_person import file_received
from gateway.cases.reports import Affected, Category, NewReport, ReceivedVia
from gateway.core.models import Case, IntakeImport
from gateway.core.runtime import Gateway

ID_COLUMNS = ("_uuid", "instanceid", "uuid")  # last segments: meta/instanceID -> instanceid
STATEMENT = "what_happened"
# Every column the import reads (docs/intake.md); the instance ids above are read too.
KNOWN_COLUMNS = (
    STATEMENT,
    "where",
    "when",
    "category",
    "affected",
    "danger_now",
    "follow_up",
    "received_via",
    "language",
    *allegation.FIELDS,
)
YES = {"yes", "y", "true", "1", "oui", "si", "sim"}
NO = {"no", "n", "false", "0", "non", "nao"}
FOLLOW_UP = {"no": False, "none": False, "focal_point": True}
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_STATEMENT = 20_000


class ImportError_(ValueError):  # noqa: N801 - not the builtin ImportError
    """The file as a whole cannot be read (its type, its encoding, no header)."""


class RowError(ValueError):
    """What is wrong with one row; the row is skipped, the others are imported."""


@dataclass(frozen=True)
class Row:
    number: int  # as a spreadsheet shows it: the header is row 1
    values: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    """One row's result, printed for the person who hands the slips back."""

    row: int
    case_number: str | None = None
    pin: str | None = None  # only for a row filed now
    already: bool = False
    error: str | None = None


def column_key(name: str) -> str:
    """`group_report/What_Happened ` -> `what_happened` (Kobo groups, ODK paths)."""
    last = str(name).strip().replace("\\", "/").split("/")[-1]
    return last.strip().lower().replace(" ", "_").replace("-", "_")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _rows(header: list[object], records: Iterator[list[object]]) -> Iterator[Row]:
    keys = [column_key(str(h)) if h is not None else "" for h in header]
    if STATEMENT not in keys:
        raise ImportError_(f"no column named {STATEMENT} (or ending in /{STATEMENT})")
    for index, record in enumerate(records, start=2):
        values: dict[str, str] = {}
        for key, value in zip(keys, record, strict=False):
            if key and _text(value) and key not in values:
                values[key] = _text(value)
        if values:
            yield Row(index, values)


def read_rows(path: Path) -> list[Row]:
    """The non-empty rows of a CSV (comma or semicolon, UTF-8 with or without BOM) or XLSX."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise ImportError_(f"file over {MAX_FILE_BYTES // (1024 * 1024)} MB")
    if data[:4] == b"PK\x03\x04":  # a zip: XLSX
        # openpyxl (some 14 MiB) only here, not in `serve` and `worker`.
        from openpyxl import load_workbook  # noqa: PLC0415 - heavy, this command only

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any broken workbook is one clear line
            raise ImportError_(f"cannot read the workbook ({type(exc).__name__})") from None
        sheet = book.worksheets[0]
        records = ([*r] for r in sheet.iter_rows(values_only=True))
        header = next(records, None)
        if header is None:
            raise ImportError_("the first sheet is empty")
        return list(_rows(list(header), records))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportError_("not UTF-8 text (export the CSV as UTF-8)") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise ImportError_("the file is empty")
    return list(_rows(list(header), (list(r) for r in reader)))


def source_key(row: Row) -> str:
    """SHA-256 of the form's instance id, else of the row's normalised content."""
    for name in ID_COLUMNS:
        if row.values.get(name):
            return hashlib.sha256(f"id:{row.values[name]}".encode()).hexdigest()
    content = {k: unicodedata.normalize("NFC", " ".join(v.split())) for k, v in row.values.items()}
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"content:{body}".encode()).hexdigest()


def _choice(row: Row, name: str, table: dict[str, object]) -> object | None:
    value = row.values.get(name, "").strip().lower().replace(" ", "_")
    if not value:
        return None
    if value not in table:
        raise RowError(f"unknown {name} value (one of: {', '.join(sorted(table))})")
    return table[value]


def _allegation(row: Row) -> dict[str, str | None]:
    """The allegation columns given, checked like the console's form; RowError names the column."""
    given: dict[str, str | None] = {}
    for name in allegation.FIELDS:
        value = row.values.get(name, "")
        if name in allegation.CHOICES:
            value = value.strip().lower().replace(" ", "_")
        elif name == "victims_count" and value.endswith(".0"):
            value = value[:-2]  # a spreadsheet's number cell: 2.0
        elif name == "incident_date" and value.endswith("T00:00:00"):
            value = value[:10]  # a spreadsheet's date cell
        if value:
            given[name] = value
    try:
        allegation.clean(given)
    except AllegationError as exc:
        raise RowError(_ALLEGATION_ERRORS.get(str(exc), f"bad {exc} value")) from None
    return given


_ALLEGATION_ERRORS = {
    **{
        name: f"unknown {name} value (one of: {', '.join(sorted(choices))})"
        for name, choices in allegation.CHOICES.items()
    },
    "victims_count": f"victims_count is not a whole number from 1 to {allegation.MAX_VICTIMS}",
    "incident_date": "incident_date is not YYYY, YYYY-MM or YYYY-MM-DD",
    "incident_area": f"incident_area is not one line of at most {allegation.MAX_AREA} characters",
}


def to_report(
    row: Row, language: str, locales: list[str], via: ReceivedVia
) -> tuple[NewReport, ReceivedVia]:
    """The report a row holds; raises RowError naming the column at fault."""
    statement = row.values.get(STATEMENT, "")
    if not statement:
        raise RowError(f"no statement ({STATEMENT} is empty)")
    if len(statement) > MAX_STATEMENT:
        raise RowError(f"statement over {MAX_STATEMENT} characters")
    row_language = row.values.get("language", "").lower() or language
    if row_language not in locales:
        raise RowError(f"unknown language (one of: {', '.join(locales)})")
    yes_no: dict[str, object] = {**dict.fromkeys(YES, True), **dict.fromkeys(NO, False)}
    category = _choice(row, "category", {c.value: c for c in Category})
    affected = _choice(row, "affected", {a.value: a for a in Affected})
    danger = _choice(row, "danger_now", yes_no)
    follow_up = _choice(row, "follow_up", dict(FOLLOW_UP))
    received = _choice(row, "received_via", {r.value: r for r in ReceivedVia})
    report = NewReport(
        narrative=statement,
        language=row_language,
        category=category,  # type: ignore[arg-type]
        affected=affected,  # type: ignore[arg-type]
        danger_now=danger,  # type: ignore[arg-type]
        location=row.values.get("where") or None,
        incident_time=row.values.get("when") or None,
        follow_up=bool(follow_up),
        allegation=_allegation(row),
    )
    return report, received or via  # type: ignore[return-value]


def _existing(gw: Gateway, key: str) -> str | None:
    with gw.sessions() as session:
        case = session.scalars(
            select(Case)
            .join(IntakeImport, IntakeImport.case_id == Case.id)
            .where(IntakeImport.source_key == key)
        ).first()
        return display_number(case) if case else None


def import_row(
    gw: Gateway, row: Row, *, actor: str, language: str, locales: list[str], via: ReceivedVia
) -> tuple[Outcome, int | None]:
    """File one row unless it was imported before: (its outcome, the new case's id or None)."""
    try:
        report, received_via = to_report(row, language, locales, via)
    except RowError as exc:
        return Outcome(row.number, error=str(exc)), None
    key = source_key(row)
    if (earlier := _existing(gw, key)) is not None:
        return Outcome(row.number, earlier, already=True), None
    try:
        with gw.sessions() as session, session.begin():
            receipt = file_received(
                session,
                gw,
                report,
                received_via=received_via,
                actor=actor,
                source="import",
                source_key=key,
            )
    except IntegrityError:  # another import filed this row a moment ago
        return Outcome(row.number, _existing(gw, key), already=True), None
    return Outcome(row.number, receipt.case_number, receipt.pin), receipt.case_id
