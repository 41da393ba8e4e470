"""Outputs checked as a reader gets them: printed to PDF by Chromium (HTML reports) or
LibreOffice (workbooks), then measured in the PDF with poppler and pypdf, never with
the exporter's own estimates.

In CI both programs are installed (``.ci/run``); elsewhere a test that needs one skips.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SOFFICE = shutil.which("soffice")

needs_chromium = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                    reason="Chromium is not installed; CI installs it")
needs_soffice = pytest.mark.skipif(SOFFICE is None and not os.environ.get("CI"),
                                   reason="LibreOffice (soffice) is not installed; CI installs it")


def chromium_pdf(html: Path, pdf: Path) -> Path:
    """Print an HTML file to PDF as a reader's "Print" does (A4 from the page's @page rule)."""
    subprocess.run([CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=180)
    assert pdf.exists() and pdf.stat().st_size > 1000, pdf
    return pdf


def soffice_pdf(book: Path, out: Path, profile: Path) -> Path:
    """Convert a workbook to PDF with LibreOffice, which honours the sheets' page setup."""
    subprocess.run([SOFFICE or "soffice", "--headless", f"-env:UserInstallation=file://{profile}",
                    "--convert-to", "pdf", "--outdir", str(out), str(book)],
                   check=True, capture_output=True, timeout=240)
    pdf = out / (book.stem + ".pdf")
    assert pdf.exists(), pdf
    return pdf


def page_count(pdf: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(pdf).pages)


def font_sizes(pdf: Path) -> list[tuple[int, float, str]]:
    """(page, printed size in points, text) for every piece of text drawn: the font size
    scaled by the text and transformation matrices, as the reader sees it."""
    from pypdf import PdfReader

    found: list[tuple[int, float, str]] = []
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float,
                  number: int = number) -> None:
            if not text.strip():
                return
            # the text matrix times the current matrix: its vertical scale multiplies the size
            b = tm[0] * cm[1] + tm[1] * cm[3]
            d = tm[2] * cm[1] + tm[3] * cm[3]
            scale = math.hypot(b, d) if (b or d) else 1.0
            found.append((number, round(size * scale, 2), text.strip()))

        page.extract_text(visitor_text=visit)
    return found


def min_font_size(pdf: Path) -> float:
    sizes = [size for _, size, _ in font_sizes(pdf)]
    assert sizes, f"no text in {pdf}"
    return min(sizes)


def font_families(pdf: Path) -> set[str]:
    """The families of the fonts in the PDF (subset prefix and style dropped: Carlito-Bold -> Carlito)."""
    text = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    names = set()
    for line in text.splitlines()[2:]:
        if line.strip():
            names.add(line.split()[0].split("+")[-1].split("-")[0].split(",")[0])
    return names


def page_lines(pdf: Path) -> list[list[str]]:
    """Each page's lines of text, top to bottom (pdftotext's layout mode)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return [[" ".join(line.split()) for line in page.splitlines() if line.strip()] for page in pages]


def png(pdf: Path, page: int, target: Path, dpi: int = 60) -> Path:
    """One page as a PNG (to look at while writing a test)."""
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile", str(pdf),
                    str(target.with_suffix(""))], check=True, capture_output=True, timeout=60)
    return target
