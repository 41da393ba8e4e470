"""One typographic identity for every page qda writes: the HTML reports, the Excel
workbooks and the figures share a font family, a scale of sizes and the way numbers
are written, defined here once.

* **Family**: Calibri, Excel's own font, where it is installed; Carlito (its free metric
  twin, which LibreOffice prints with) everywhere else. Figures embed Carlito when it
  is installed (matplotlib needs the font file) and fall back to DejaVu Sans.
* **Sizes** (points, as printed): body 10, tables 9, notes and captions 8; nothing a
  reader must read prints below :data:`MIN_PRINTED` (8 pt). Figures are drawn at their
  printed size, with tick labels at :data:`FIGURE_SMALL`.
* **Numbers**: a count and its noun, a share and its sign, "1 of 11" never break across
  lines (U+00A0 no-break spaces); percentages are whole ("39 %"), coefficients three
  decimals in reliability tables and two in synthesis tables.
"""

from __future__ import annotations

import re

NBSP = "\u00a0"

#: The family as the workbook names it (Excel's default, so unstyled cells match).
WORKBOOK_FAMILY = "Calibri"
#: The families a figure may be drawn with, in order of preference.
FIGURE_FAMILIES = ("Carlito", "Calibri", "DejaVu Sans")
#: The CSS font stack of the HTML reports.
CSS_FAMILY = "Calibri, Carlito, 'DejaVu Sans', 'Segoe UI', sans-serif"

# printed sizes, in points
TITLE = 16.0
HEADING = 12.5
SUBHEADING = 11.0
BODY = 10.0
TABLE = 9.0
NOTE = 8.0
MIN_PRINTED = 8.0  # the smallest size a reviewer accepts on a printed page
FIGURE = 8.0
FIGURE_SMALL = 7.0  # tick labels, legends, numbers on bars: journals ask for 6-8 pt at print size
FIGURE_TINY = 6.0  # counts inside heatmap cells only

PERCENT_DIGITS = 0
RELIABILITY_DIGITS = 3
SYNTHESIS_DIGITS = 2


def thousands(n: int) -> str:
    """``12345`` -> ``"12,345"``."""
    return f"{n:,}"


def count(n: int, one: str, many: str | None = None) -> str:
    """``count(12, "coding")`` -> ``"12 codings"``, the number and its noun held together."""
    noun = one if n == 1 else (many if many is not None else one + "s")
    return f"{thousands(n)}{NBSP}{noun}"


def of(part: int, whole: int, noun: str | None = None) -> str:
    """``of(1, 11, "documents")`` -> ``"1 of 11 documents"``, never broken inside."""
    text = f"{thousands(part)}{NBSP}of{NBSP}{thousands(whole)}"
    return f"{text}{NBSP}{noun}" if noun else text


def percent(share: float | None, digits: int = PERCENT_DIGITS) -> str:
    """``0.39`` -> ``"39 %"`` (empty for no value), the sign held to its number."""
    return "" if share is None else f"{100 * share:.{digits}f}{NBSP}%"


def with_share(n: int, share: float | None) -> str:
    """``with_share(28, 1.0)`` -> ``"28 (100 %)"``, one unbreakable unit."""
    return f"{thousands(n)}{NBSP}({percent(share)})" if share is not None else thousands(n)


def decimal(value: float | None, digits: int = SYNTHESIS_DIGITS) -> str:
    """A coefficient with a fixed number of decimals (empty for no value)."""
    return "" if value is None else f"{value:.{digits}f}"


_HELD = re.compile(r"(?<=\d) (?=(?:%|\(\d[\d.,]*[ \u00a0]%\)|[^\W\d_]))")
_OF = re.compile(r"(?<=\bof) (?=\d)")


def hold_numbers(text: str) -> str:
    """Prose with every number held to the word after it ("12 codings", "1 of 11",
    "28 (100 %)"), for a paragraph generated as plain text but printed in a report."""
    return _OF.sub(NBSP, _HELD.sub(NBSP, text))


_MARKUP = re.compile(r"(<style\b.*?</style>|<svg\b.*?</svg>|<script\b.*?</script>|<[^>]*>)", re.S | re.I)


def hold_html(page: str) -> str:
    """An HTML page with :func:`hold_numbers` applied to its text (not to tags, styles or
    inline SVG): counts written by any layer ("25 codes", "250 units") stay whole in print."""
    parts = _MARKUP.split(page)
    return "".join(part if i % 2 else hold_numbers(part) for i, part in enumerate(parts))


def coverage(coder: str, coded: int, total: int, *, noun: str = "documents") -> str:
    """``"coder alice coded 1 of 11 documents"``: how much of the material a report rests on."""
    return f"coder {coder} coded {of(coded, total, noun)}"


#: Excel's number format for a whole percentage written as :func:`percent` writes it.
EXCEL_PERCENT = f'0"{NBSP}"%'  # the % outside the quotes: Excel still multiplies by 100


def css() -> str:
    """The CSS every HTML report starts from: family, sizes, numbers, and print rules
    that keep each heading with what follows it and never split a row, figure or count."""
    return f"""
body{{font-family:{CSS_FAMILY};font-size:{BODY * 1.5:.0f}px;line-height:1.4}}
h1{{font-size:{TITLE / BODY:.2f}em}}h2{{font-size:{HEADING / BODY:.2f}em}}h3{{font-size:{SUBHEADING / BODY:.2f}em}}
table{{font-size:{TABLE / BODY:.2f}em}}
figcaption,.note,.notes,p.meta,.lead,.coverage{{font-size:{NOTE / BODY:.2f}em}}
td.n,th.n,.num{{font-variant-numeric:tabular-nums lining-nums}}
.keep{{break-inside:avoid;page-break-inside:avoid}}
code,.code{{font-family:inherit}}
@page{{size:A4;margin:15mm 14mm}}
@media print{{
 body{{font-size:{BODY:.0f}pt;max-width:none;margin:0;padding:0}}
 table{{font-size:{TABLE:.0f}pt}}
 figcaption,.note,.notes,p.meta,.lead,.coverage,.ci{{font-size:{NOTE:.0f}pt}}
 h1,h2,h3,h4,caption{{break-after:avoid;page-break-after:avoid;break-inside:avoid}}
 table,tr,figure,.keep{{break-inside:avoid;page-break-inside:avoid}}
 sub,sup{{font-size:{NOTE:.0f}pt}}
code,.code{{font-family:inherit}}
 thead{{display:table-header-group}}
 .scroll{{overflow:visible}}
}}
"""
