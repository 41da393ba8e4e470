"""The fast paths of issue 18 item 6 give what the slow ones gave.

Each speedup reads less or builds less; these tests hold the fast result against the
straightforward one (styles set attribute by attribute, segments with their text, the
spaCy pipeline lemmatising a query) on the example study.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from qda import analysis
from qda.export import style as xl
from qda.project import Project

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- workbook cells

def _look(cell) -> tuple:
    return (cell.font.b, cell.font.i, cell.font.sz, cell.fill.fgColor.rgb, cell.alignment.wrap_text,
            cell.alignment.horizontal, cell.alignment.vertical, cell.number_format,
            cell.border.top.style if cell.border.top else None)


def test_cells_styled_from_a_copy_look_like_cells_styled_one_by_one(tmp_path: Path) -> None:
    bold, fill, wrap = Font(bold=True), PatternFill("solid", fgColor="D9D9D9"), Alignment(wrap_text=True)
    fast = Workbook()
    ws = fast.active
    slow = Workbook().active
    combos = [dict(font=bold), dict(fill=fill, align=wrap), dict(font=bold, fill=fill, fmt="0.00"), dict(align=wrap),
              dict(font=Font(italic=True, size=9))]  # a new Font object per call: never mistaken for another
    for row in range(1, 40):
        for col, combo in enumerate(combos, start=1):
            xl.put(ws, row, col, f"r{row}c{col}", **combo)
            cell = slow.cell(row=row, column=col, value=f"r{row}c{col}")
            for attr, name in (("font", "font"), ("fill", "fill"), ("align", "alignment"), ("fmt", "number_format")):
                if attr in combo:
                    setattr(cell, name, combo[attr])
    # a cell with a border drawn first keeps it when put() styles it
    ws.cell(row=50, column=1).border = Border(top=Side(style="thin"))
    xl.put(ws, 50, 1, "ruled", font=bold)
    fast.save(tmp_path / "fast.xlsx")
    back = load_workbook(tmp_path / "fast.xlsx").active
    for row in range(1, 40):
        for col in range(1, len(combos) + 1):
            assert _look(back.cell(row=row, column=col)) == _look(slow.cell(row=row, column=col)), (row, col)
    ruled = back.cell(row=50, column=1)
    assert ruled.font.b and ruled.border.top.style == "thin"


def test_row_heights_are_set_from_the_cells_that_exist_only() -> None:
    ws = Workbook().active
    xl.widths(ws, {1: 10, 2: 10})
    xl.put(ws, 2, 2, "word " * 40, align=xl.WRAP)  # eight lines of a 10-wide column
    xl.put(ws, 3, 1, "short", align=xl.WRAP)
    before = len(ws._cells)
    xl.fit_rows(ws)
    assert len(ws._cells) == before  # sizing created no empty cell
    assert ws.row_dimensions[2].height >= 8 * xl.LINE_HEIGHT
    assert ws.row_dimensions[3].height == xl.LINE_HEIGHT


# ----------------------------------------------------------------------------- reading less

def test_segments_without_text_are_the_segments(study_project: Path) -> None:
    with Project.open(study_project) as project:
        full = project._store.segments()
        bare = project._store.segments(text=False)
    assert [s.text for s in bare] == [""] * len(full)
    assert [s.__dict__ | {"text": ""} for s in full] == [s.__dict__ for s in bare]


def test_retrieve_with_and_without_context_and_quotes_cut_the_same_text(study_project: Path) -> None:
    with Project.open(study_project) as project:
        plain = project.retrieve(codes=["h"], coders=["consensus"])
        context = project.retrieve(codes=["h"], coders=["consensus"], context=1)
        texts = {d.name: d.text for d in project._store.documents()}
    assert [p.text for p in plain.passages] == [texts[p.document][p.start:p.end] for p in plain.passages]
    assert [p.text for p in plain.passages] == [p.text for p in context.passages]
    assert any(p.before or p.after for p in context.passages)  # the context still comes from the segments


# ----------------------------------------------------------------------------- lemma search without spaCy

def _tokens(words: list[str], lemmas: list[str], language: str = "fr") -> analysis.DocumentTokens:
    starts, ends, pos = [], [], 0
    for w in words:
        starts.append(pos)
        ends.append(pos + len(w))
        pos += len(w) + 1
    return analysis.DocumentTokens("D", "C", language, " ".join(words), starts, ends, words, lemmas)


def test_a_word_of_the_transcripts_takes_their_lemma() -> None:
    docs = [_tokens(["les", "clients", "travaillais", "est", "est"], ["le", "client", "travailler", "être", "est"])]
    assert analysis.stored_lemmas(docs, "Travaillais ", "fr") == ["travailler"]  # as stored, not spaCy's "travaillai"
    assert analysis.stored_lemmas(docs, "client", "fr") == ["client"]  # a lemma the transcripts hold, not a form
    assert analysis.stored_lemmas(docs, "est", "fr") is None  # two lemmas: spaCy decides
    assert analysis.stored_lemmas(docs, "salon", "fr") is None  # unknown: spaCy decides
    assert analysis.stored_lemmas(docs, "les clients", "fr") is None  # a phrase: spaCy tokenises it
    assert analysis.stored_lemmas(docs, "clients", "en") is None  # other language's transcripts say nothing


def test_lemma_spans_fold_apostrophes_and_match_phrases() -> None:
    doc = _tokens(["l\u2019entreprise", "aujourd\u2019hui", "l\u2019entreprise"],
                  ["l\u2019", "aujourd\u2019hui", "entreprise"])
    assert analysis.search([doc], [], [], query="x", mode="lemma",
                           lemmas=["aujourd'hui"]).hits[0].start == doc.starts[1]
    pair = _tokens(["a", "b", "a", "b", "b"], ["a", "b", "a", "b", "b"])
    assert [(h.start, h.end) for h in analysis.search([pair], [], [], query="a b", mode="lemma",
                                                      lemmas=["a", "b"]).hits] == \
        [(0, 3), (4, 7)]


def test_lemma_search_of_a_transcript_word_does_not_load_spacy(study_project: Path) -> None:
    code = ("import sys\nfrom qda.project import Project\n"
            f"with Project.open({str(study_project)!r}) as p:\n"
            "    hits = p.search('salon', mode='lemma').hits\n"
            "print(len(hits), 'spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.split()
    assert int(out[0]) > 0 and out[1] == "False"


def test_lemma_search_finds_what_the_pipeline_lemma_finds(study_project: Path) -> None:
    from qda.coding.auto import lemmatise_phrase

    with Project.open(study_project) as project:
        fast = project.search("salons", mode="lemma")
        docs = project._document_tokens()
        slow = analysis.search(docs, project._store.cases(), project._store.segments(), query="salons", mode="lemma",
                               lemmas={"fr": lemmatise_phrase("salons", "fr")})
    assert fast.hits == slow.hits and len(fast.hits) > 1
