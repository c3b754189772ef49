"""The cases export for headquarters in the console: a period, what it holds, the download.

The same file as `cases export --format mts-csv` (gateway/cases/mts_export.py,
docs/exports.md), for administrators and focal points: the statistics page
links here. The page first says how many cases the period holds and how many
restricted cases are left out because the user is not named on them (an
administrator's override opens one case, not an export); the download then
writes those rows and one audit entry with the period, the rows and the
number left out. Built in a temporary file, so a large mission's export does
not sit in the web process's memory.
"""

from __future__ import annotations

import io
import tempfile

from flask import Response, g, request, send_file

from gateway.cases import mts_export
from gateway.cases.csv_cells import Period
from gateway.cases.referrals import ReferralError, parse_date
from gateway.console import security
from gateway.console.pages import blueprint, render, t
from gateway.console.security import STAFF, allow
from gateway.core.i18n import _

IN_MEMORY = 1 << 20  # bytes of CSV kept in memory before the temporary file goes to disk
BAD_PERIOD = _("Give the first day as YYYY-MM-DD, and a last day that is not before it.")


def _period() -> Period | None:
    """The period asked for, or None if it is missing or wrong."""
    try:
        since = parse_date("since", request.args.get("since"), required=True)
        until = parse_date("until", request.args.get("until"), required=False)
    except ReferralError:
        return None
    if since is None or (until is not None and until < since):
        return None
    return Period(since, until)


@blueprint.get("/exports/cases")
@allow(*STAFF)
def hq_export() -> Response:
    """The form; with a period, what the file will hold and the download link."""
    asked = "since" in request.args
    period = _period() if asked else None
    if asked and period is None:
        return render("hq_export.html", status=400, error=t(BAD_PERIOD), period=None)
    shown = left_out = 0
    if period is not None:
        with security.gateway().sessions() as db:
            shown, left_out = mts_export.counts(db, period, g.console_user.id)
    return render("hq_export.html", error=None, period=period, shown=shown, left_out=left_out)


@blueprint.get("/exports/cases.csv")
@allow(*STAFF)
def hq_export_csv() -> Response:
    """The CSV of the period's cases this user may open; audited."""
    period = _period()
    if period is None:
        return render("error.html", status=400, code=400, message=t(BAD_PERIOD))
    gw = security.gateway()
    user = g.console_user
    spooled = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115 - send_file closes it
    text = io.TextIOWrapper(spooled, encoding="utf-8", newline="")
    prefix = gw.settings.case_number_prefix
    try:
        with gw.sessions() as db, db.begin():
            mts_export.write(db, text, period, prefix, user.username, user.id)
        text.flush()
    except BaseException:
        text.close()
        raise
    text.detach()
    spooled.seek(0)
    last = period.until or security.now().date()
    name = f"cases-{period.since.isoformat()}-{last.isoformat()}.csv"
    return send_file(spooled, mimetype="text/csv", as_attachment=True, download_name=name)
