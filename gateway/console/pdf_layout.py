"""The page layout of a case's PDF export (fpdf2).

A module of its own because fpdf2 and the fontTools it brings cost a
process some 25 MiB: `exports.pdf_document` imports it on the first PDF
export, so a web process that never exports one, and the worker, never
carry them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fpdf import FPDF


class CasePdf(FPDF):
    """A plain A4 document with a Unicode font where the system has one."""

    def __init__(self, font_paths: Iterable[str]) -> None:
        super().__init__(format="A4")
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, margin=16)
        self.unicode = False
        for path in font_paths:
            if Path(path).exists():
                self.add_font("body", "", path)
                self.add_font("body", "B", path)
                self.unicode = True
                break
        self.body_font = "body" if self.unicode else "helvetica"

    def clean(self, text: str) -> str:
        """`text` as the font can show it (Latin-1 with a core font)."""
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(self.body_font, "B", 12)
        self.multi_cell(0, 7, self.clean(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.body_font, "", 10)

    def para(self, text: str) -> None:
        self.multi_cell(0, 5, self.clean(text), new_x="LMARGIN", new_y="NEXT")

    def pair(self, name: str, value: object) -> None:
        self.para(f"{name}: {value if value not in (None, '') else '-'}")
