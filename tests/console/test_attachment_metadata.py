"""What a focal point sees and exports of a report's files: only cleaned ones (issue 16, 2).

A report filed with a PDF (Info Author/Creator, XMP) and an MP4 (`©xyz`
GPS position): while the worker has not cleaned them the case page shows
no file, only how many are being prepared; afterwards each file the
console streams, and each file in the ZIP hand-over, holds none of the
metadata.
"""

from __future__ import annotations

import io
import re
import zipfile

from gateway.cases.reports import NewAttachment, NewReport
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.support.jobs import run_jobs
from tests.support.media_samples import mp4_with_gps, pdf_with_metadata, secrets_in


def test_the_console_shows_and_exports_only_cleaned_files(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    report = NewReport(
        narrative="The files show where it happened",
        language="en",
        attachments=[
            NewAttachment("application/pdf", pdf_with_metadata()),
            NewAttachment("video/mp4", mp4_with_gps()),
        ],
    )
    receipt = submit_report(gw, report, channel="web")
    focal = signed_in(Role.FOCAL_POINT, "amani")
    case_url = f"/console/cases/{receipt.case_number}"
    waiting = focal.get(case_url).get_data(as_text=True)
    assert "/console/attachments/" not in waiting and "cleaned of their metadata" in waiting
    run_jobs(gw)
    page = focal.get(case_url).get_data(as_text=True)
    links = sorted(set(re.findall(r'href="(/console/attachments/\d+)"', page)))
    assert len(links) == 2
    for link in links:
        response = focal.get(link)
        assert response.status_code == 200 and secrets_in(response.data) == []
    archive = zipfile.ZipFile(io.BytesIO(focal.get(f"{case_url}/export.zip").data))
    files = [name for name in archive.namelist() if name.startswith("attachments/")]
    assert len(files) == 2
    assert all(secrets_in(archive.read(name)) == [] for name in files)
