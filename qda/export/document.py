"""A coded document as a file to read, print or send: the transcript with its codings
highlighted and the codes in the margin, as QualCoder and MAXQDA export it.

Two formats, chosen by the file's extension:

- ``.html``: one self-contained, printable page (inline CSS, no script, no external file):
  a two-column table, a row per paragraph, the text with highlights on the left and, on
  the right, the codings that start in that paragraph (code, label, coder, memo).
- ``.docx``: the transcript with highlighted (shaded) runs and one Word comment per
  coding, anchored to exactly the coded text, its author the coder: Word and LibreOffice
  show them in the margin (what MAXQDA does).

Offsets are Python ``str`` indices (code points), the project's convention; both formats
keep each coding's id, so a reader can be checked against the project's codings.
The exporter never queries the store: the facade gathers a :class:`CodedDocument`.
"""

from __future__ import annotations

import copy
import html
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from qda.errors import ExportError
from qda.files import check_suffix, check_target, write_atomically
from qda.models import Codebook, Coding, Document, DocumentFormat, Segment

#: The workspace's code colours (qda/web/static/workspace.js), for codes without a colour of their own.
CODE_PALETTE = ("#f4a261", "#8ecae6", "#b5e48c", "#f28482", "#cdb4db", "#ffd166", "#90be6d", "#a8dadc",
                "#e9c46a", "#bde0fe", "#ffafcc", "#c9ada7", "#9ad1d4", "#f6bd60", "#84a59d")
#: One colour per coder (Okabe & Ito's colour-blind-safe set), in the order the coders are given.
CODER_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
SUFFIXES = (".html", ".htm", ".docx")
# characters XML 1.0 cannot hold: replaced one for one, so that offsets do not move
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class CodedDocument:
    """What the export shows, gathered by the facade (``Project.coded_document``)."""

    document: Document
    segments: Sequence[Segment]
    codings: Sequence[Coding]
    codebook: Codebook
    coders: tuple[str, ...]
    lang: str | None = None

    def code_color(self, code: str) -> str:
        """The code's own colour, else the workspace's colour for its place in the codebook."""
        ids = self.codebook.code_ids()
        if code not in ids:
            return "#cccccc"
        found = self.codebook.code(code)
        return found.color or CODE_PALETTE[ids.index(code) % len(CODE_PALETTE)]

    def coder_color(self, coder: str) -> str:
        return CODER_PALETTE[self.coders.index(coder) % len(CODER_PALETTE)] if coder in self.coders else "#777777"

    def label(self, code: str) -> str:
        return self.codebook.code(code).label(self.lang) if code in self.codebook.code_ids() else code


def tint(color: str, share: float = 0.45) -> str:
    """A light version of a colour (``#rrggbb``) as a highlight, so the text stays readable."""
    value = int(color.lstrip("#")[:6] or "cccccc", 16)
    mix = [round(x + (255 - x) * share) for x in (value >> 16, (value >> 8) & 255, value & 255)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def paragraphs(text: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of the text's non-blank lines: one paragraph each."""
    found, start = [], 0
    for line in text.split("\n"):
        end = start + len(line)
        if line.strip():
            found.append((start, end))
        start = end + 1
    return found


def by_paragraph(paras: Sequence[tuple[int, int]], codings: Sequence[Coding]) -> Iterator[list[Coding]]:
    """For each paragraph, the codings that touch it (one sweep: codings sorted by start)."""
    ordered = sorted(codings, key=lambda c: c.start)
    following, open_ = 0, []
    for start, end in paras:
        while following < len(ordered) and ordered[following].start < end:
            open_.append(ordered[following])
            following += 1
        open_ = [c for c in open_ if c.end > start]
        yield [c for c in open_ if c.start < end]


def pieces(start: int, end: int, inside: Sequence[Coding]) -> Iterator[tuple[int, int, list[Coding]]]:
    """Cut [start, end) at every boundary of ``inside``: (a, b, codings covering all of [a, b))."""
    bounds = sorted({start, end} | {x for c in inside for x in (c.start, c.end) if start < x < end})
    for a, b in zip(bounds, bounds[1:], strict=False):
        yield a, b, [c for c in inside if c.start <= a and c.end >= b]


def _excerpt(text: str, words: int = 8) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def _ordered(codings: Sequence[Coding]) -> list[Coding]:
    return sorted(codings, key=lambda c: (c.start, -c.end, c.coder, c.code, c.id or 0))


def _roles(data: CodedDocument) -> dict[int, str]:
    """The speaker role of each paragraph (by its start): the role of its first segment."""
    roles: dict[int, str] = {}
    starts = sorted((s.start, s.role or "") for s in data.segments)
    following = 0
    for start, end in paragraphs(data.document.text):
        while following < len(starts) and starts[following][0] < start:
            following += 1
        if following < len(starts) and starts[following][0] < end:
            roles[start] = starts[following][1]
    return roles


# ---------------------------------------------------------------------------- HTML
_CSS = """
body { font: 15px/1.6 Georgia, "DejaVu Serif", serif; color: #1f2933;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #5b6572; font: 13px/1.4 system-ui, sans-serif; margin: 0 0 14px; }
table.doc { border-collapse: collapse; width: 100%; }
table.doc td { vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #e3e6ea; }
td.text { white-space: pre-wrap; width: 68%; }
td.codes { font: 12.5px/1.35 system-ui, sans-serif; border-left: 2px solid #d9dee4; }
td.codes ul { list-style: none; margin: 0; padding: 0; }
td.codes li { margin: 0 0 4px; padding-left: 6px; border-left: 4px solid; }
td.codes .coder { color: #5b6572; }
td.codes .memo { font-style: italic; color: #3b4652; }
td.codes .quote { color: #5b6572; font-size: 11.5px; }
.interviewer { color: #55606c; font-style: italic; }
mark { color: inherit; padding: 0; border-radius: 2px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; border: 1px solid rgba(0,0,0,.2); }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 14px;
            font: 12.5px system-ui, sans-serif; }
@media print {
  body { margin: 0; max-width: none; }
  tr { break-inside: avoid; }
  mark, .swatch { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def render_html(data: CodedDocument) -> str:
    """The coded document as one self-contained HTML page (every project text escaped)."""
    doc, text = data.document, data.document.text
    codings = _ordered(data.codings)
    esc = html.escape
    roles = _roles(data)
    out = [f'<!doctype html>\n<html lang="{esc(data.lang or "en")}"><head><meta charset="utf-8">'
           f"<title>{esc(doc.name)} — coded</title><style>{_CSS}</style></head><body>",
           f"<h1>{esc(doc.name)}</h1>",
           f'<p class="meta">Case {esc(doc.case)} · {len(codings)} coding(s) by '
           f"{esc(', '.join(data.coders))} · {len(text):,} characters</p>"]
    used = sorted({c.code for c in codings}, key=lambda k: (data.codebook.code_ids() + [k]).index(k))
    out.append('<ul class="legend">' + "".join(
        f'<li><span class="swatch" style="background:{tint(data.code_color(k))}"></span> <b>{esc(k)}</b> '
        f"{esc(data.label(k))}</li>" for k in used) + "".join(
        f'<li><span class="swatch" style="background:{data.coder_color(name)}"></span> coder {esc(name)} '
        "(underline)</li>" for name in data.coders) + "</ul>")
    out.append('<table class="doc"><tbody>')
    paras = paragraphs(text)
    by_start = iter(codings)
    pending = next(by_start, None)
    for i, ((start, end), inside) in enumerate(zip(paras, by_paragraph(paras, codings), strict=True)):
        limit = paras[i + 1][0] if i + 1 < len(paras) else len(text) + 1
        cells = []
        for a, b, active in pieces(start, end, _ordered(inside)):
            chunk = esc(text[a:b])
            if not active:
                cells.append(chunk)
                continue
            top = active[-1]
            lines = [data.coder_color(name) for name in dict.fromkeys(c.coder for c in active)]
            shadow = ", ".join(f"inset 0 -{2 * (n + 1)}px 0 {color}" for n, color in enumerate(lines))
            ids = " ".join(str(c.id) for c in active)
            title = esc("; ".join(f"{c.code} {data.label(c.code)} ({c.coder})" for c in active))
            cells.append(f'<mark data-c="{ids}" data-s="{a}" data-e="{b}" title="{title}" style="background:'
                         f'{tint(data.code_color(top.code))};box-shadow:{shadow}">{chunk}</mark>')
        notes = []
        while pending is not None and pending.start < limit:
            c = pending
            more = " · continues" if c.end > end else ""
            memo = f'<br><span class="memo">{esc(c.note)}</span>' if c.note else ""
            notes.append(f'<li data-coding="{c.id}" data-code="{esc(c.code)}" data-coder="{esc(c.coder)}" '
                         f'data-start="{c.start}" data-end="{c.end}" style="border-color:{data.code_color(c.code)}">'
                         f'<b>{esc(c.code)}</b> {esc(data.label(c.code))} <span class="coder">· <span class="swatch" '
                         f'style="background:{data.coder_color(c.coder)}"></span> {esc(c.coder)}{more}</span>'
                         f'<br><span class="quote">“{esc(_excerpt(text[c.start:c.end]))}”</span>{memo}</li>')
            pending = next(by_start, None)
        role = " interviewer" if roles.get(start) == "interviewer" else ""
        out.append(f'<tr><td class="text{role}" data-s="{start}" data-e="{end}">{"".join(cells)}</td>'
                   f'<td class="codes"><ul>{"".join(notes)}</ul></td></tr>')
    out.append("</tbody></table></body></html>\n")
    return "".join(out)


# ---------------------------------------------------------------------------- DOCX
def render_docx(data: CodedDocument) -> bytes:
    """The coded document as a .docx: shaded runs, one comment per coding (author: its coder)."""
    from docx import Document as new_docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    doc, text = data.document, _NOT_XML.sub("\ufffd", data.document.text)
    codings = _ordered(data.codings)
    book = new_docx()
    book.core_properties.title = f"{doc.name} (coded)"
    book.add_heading(doc.name, level=1)
    meta = book.add_paragraph(f"Case {doc.case} · {len(codings)} coding(s) by {', '.join(data.coders)}. "
                              "Each coding is a comment in the margin: its code, label and coder.")
    meta.runs[0].font.size = Pt(9)
    meta.runs[0].font.color.rgb = RGBColor(0x5B, 0x65, 0x72)
    roles = _roles(data)
    first: dict[int, object] = {}
    last: dict[int, object] = {}
    paras = paragraphs(text)
    for (start, end), inside in zip(paras, by_paragraph(paras, codings), strict=True):
        paragraph = book.add_paragraph()
        italic = roles.get(start) == "interviewer"
        for a, b, active in pieces(start, end, _ordered(inside)):
            run = paragraph.add_run(text[a:b])
            run.italic = italic or None
            if active:
                shade = OxmlElement("w:shd")
                shade.set(qn("w:val"), "clear")
                shade.set(qn("w:color"), "auto")
                shade.set(qn("w:fill"), tint(data.code_color(active[-1].code)).lstrip("#").upper())
                run._r.get_or_add_rPr().append(shade)
            for c in active:
                key = id(c)
                first.setdefault(key, run)
                last[key] = run
    template = None
    for number, c in enumerate(c for c in codings if id(c) in first):  # (a blank-only span has no run)
        note = f"{c.code} — {data.label(c.code)} ({c.coder})" + (f" — memo: {c.note}" if c.note else "")
        note = _NOT_XML.sub("\ufffd", " ".join(note.split("\n")))
        initials = "".join(part[:1] for part in re.split(r"[\s._-]+", c.coder) if part).upper()[:3]
        if template is None:
            # the first comment through python-docx (it makes the comments part and its styles) ...
            template = book.add_comment([first[id(c)], last[id(c)]], text=note,  # type: ignore[list-item]
                                        author=c.coder, initials=initials)._element
            continue
        # ... the others as copies of it: python-docx looks for a free id among all comments
        # at each new one, which takes minutes for thousands of codings
        made = copy.deepcopy(template)
        made.set(qn("w:id"), str(number))
        made.set(qn("w:author"), c.coder)
        made.set(qn("w:initials"), initials)
        made.findall(".//" + qn("w:t"))[-1].text = note
        template.getparent().append(made)
        first[id(c)].mark_comment_range(last[id(c)], number)  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def render(data: CodedDocument, fmt: DocumentFormat) -> bytes:
    """The export in ``fmt`` (``html`` or ``docx``) as bytes."""
    if fmt == "html":
        return render_html(data).encode("utf-8")
    if fmt == "docx":
        return render_docx(data)
    raise ExportError(f"unknown format '{fmt}': a coded document is exported as html or docx")


def write_coded_document(path: str | Path, data: CodedDocument) -> Path:
    """Write the coded document to ``path`` (.html or .docx, by its extension), atomically."""
    path = Path(path)
    check_suffix(path, SUFFIXES, "a coded document")
    check_target(path, f"{data.document.name}.html")
    content = render(data, DocumentFormat.DOCX if path.suffix.lower() == ".docx" else DocumentFormat.HTML)
    write_atomically(path, lambda tmp: tmp.write_bytes(content))
    return path
