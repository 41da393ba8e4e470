"""Taguette highlights and codebooks (issue 17).

The fixtures in tests/fixtures/taguette/ were made by Taguette 1.5.2 itself, run locally
(make_with_taguette.py there says how) on two interviews we wrote: its CSV and XLSX
highlight exports and its codebook CSV. The expected spans below come from the phrases
that script gave Taguette, not from qda.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from qda import Project
from qda.ingest.reanchor import find_passage

from conftest import FIXTURES, run, run_json

TAGUETTE = FIXTURES / "taguette"

#: (document, first words, last words, tags): each highlight as make_with_taguette.py made it
HIGHLIGHTS = [
    ("Interview Alma", "At first I was lost.", "At first I was lost.", {"feelings.worry"}),
    ("Interview Alma", "I missed the market twice. 😅", "I missed the market twice. 😅", {"place", "feelings"}),
    ("Interview Alma", "Then my neighbour", "along the river.", {"place"}),
    ("Interview Alma", "Now I walk to work.", "calmer on the phone.", {"work", "feelings.joy", "family"}),
    ("Interview Alma", "The little one cried", "she loves it.", {"family", "feelings.worry"}),
    ("Interview Alma", "along the river.", "Now I walk to work.", {"place"}),
    ("Interview Bruno", "I start at six at the bakery.", "I start at six at the bakery.", {"work"}),
    ("Interview Bruno", "He worries about the rent.", "I worry about him.", {"family", "feelings.worry"}),
    ("Interview Bruno", "We eat together", "🍞 That is the rule.", {"family", "feelings.joy"}),
    ("Interview Bruno", "so I read the news", "After lunch I sleep,", {"work"}),
    ("Interview Bruno", "Sundays.", "Sundays.", {"work"}),
]


@pytest.fixture
def interviews(runner, tmp_path: Path) -> Path:
    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", "en")
    run(runner, "-p", folder, "import", "transcripts", TAGUETTE / "Interview Alma.txt",
        TAGUETTE / "Interview Bruno.txt")
    return folder


def expected_codings(folder: Path) -> set[tuple[str, str, int, int]]:
    with Project.open(folder) as project:
        texts = {d.name: d.text for d in project._store.documents()}
    found = set()
    for document, first, last, tags in HIGHLIGHTS:
        text = texts[document]
        start = text.index(first)
        end = text.index(last, start) + len(last) if first != last else start + len(first)
        for tag in tags:
            found.add((tag, document, start, end))
    return found


def stored(folder: Path, coder: str) -> set[tuple[str, str, int, int]]:
    with Project.open(folder) as project:
        book = project.codebook()
        paths = {c.id: c for c in book.codes}

        def path(code_id: str) -> str:
            code = paths[code_id]
            own = code.label()
            return f"{path(code.parent)}.{own}" if code.parent else own

        return {(path(c.code), c.document, c.start, c.end) for c in project._store.codings(coder=coder)}


@pytest.mark.parametrize("name", ["highlights.csv", "highlights.xlsx"])
def test_every_taguette_highlight_lands_on_its_exact_span(runner, interviews: Path, name: str) -> None:
    report = run_json(runner, "-p", interviews, "import", "taguette", TAGUETTE / name, "--coder", "remi")
    assert report["rows"] == 17 and report["highlights"] == 11 and report["codings"] == 17
    # the two highlights that cross a paragraph break: Taguette writes a space where the text has a blank line
    assert report["placed"] == {"exact": 9, "normalised": 2, "fuzzy": 0}
    assert stored(interviews, "remi") == expected_codings(interviews)
    with Project.open(interviews) as project:
        codes = {c.id: c for c in project.codebook().codes}
    assert codes["feelings.joy"].parent == "feelings" and codes["feelings.joy"].label() == "joy"
    # the same file again: the coder's codings are replaced, not doubled
    again = run_json(runner, "-p", interviews, "import", "taguette", TAGUETTE / name, "--coder", "remi")
    assert again["replaced"] == 17 and again["codes_created"] == []
    assert stored(interviews, "remi") == expected_codings(interviews)


def test_taguette_codebook_export_counts_match_taguettes_own(runner, interviews: Path, tmp_path: Path) -> None:
    run(runner, "-p", interviews, "import", "taguette", TAGUETTE / "highlights.csv", "--coder", "remi")
    run(runner, "-p", interviews, "export", "taguette-codebook", "-o", tmp_path / "tags.csv")
    with (tmp_path / "tags.csv").open(encoding="utf-8") as handle:
        ours = {r["tag"]: (r["number of highlights"], r["number of documents"]) for r in csv.DictReader(handle)}
    with (TAGUETTE / "codebook.csv").open(encoding="utf-8") as handle:
        theirs = {r["tag"]: (r["number of highlights"], r["number of documents"]) for r in csv.DictReader(handle)
                  if r["number of highlights"] != "0"}  # Taguette's default tag 'interesting', never used
    assert ours == theirs


def _edited(tmp_path: Path, change) -> Path:
    rows = list(csv.reader((TAGUETTE / "highlights.csv").open(encoding="utf-8", newline="")))
    rows = change(rows)
    target = tmp_path / "edited.csv"
    with target.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return target


def test_ambiguous_and_unknown_highlights_are_row_errors_and_nothing_is_written(runner, interviews: Path,
                                                                               tmp_path: Path) -> None:
    def change(rows):
        rows[1][3] = "Alma:"  # in the text three times
        rows[11][1] = "Interview Carla"  # no such document
        return rows

    result = run(runner, "-p", interviews, "import", "taguette", _edited(tmp_path, change), "--coder", "remi", code=1)
    assert "edited.csv:2" in result.output and "found 3 or more times" in " ".join(result.output.split())
    assert "edited.csv:12" in result.output and "Interview Carla" in result.output
    with Project.open(interviews) as project:
        assert project._store.count_codings() == 0


def test_a_retyped_highlight_is_placed_fuzzily_with_its_score(runner, interviews: Path, tmp_path: Path) -> None:
    def change(rows):
        rows[11][3] = "I start at six at the bakrey."  # row 12: Bruno's first highlight, mistyped
        return rows

    report = run_json(runner, "-p", interviews, "import", "taguette", _edited(tmp_path, change), "--coder", "remi")
    assert report["placed"]["fuzzy"] == 1 and report["fuzzy"][0]["row"] == 12
    assert 90 <= report["fuzzy"][0]["score"] < 100
    assert stored(interviews, "remi") == expected_codings(interviews)


def test_find_passage_levels() -> None:
    text = "Ana: I was lost.\n\nAna: Now I walk to work. I like it.\n\nAna: I was lost."
    assert find_passage(text, "Now I walk to work.").status == "exact"
    assert find_passage(text, "I was lost.").status == "ambiguous"
    located = find_passage(text, "work. I LIKE it. Ana:")
    assert located.status == "normalised" and text[located.start:located.end] == "work. I like it.\n\nAna:"
    assert find_passage(text, "a passage that is not there at all").status == "missing"


def test_taguette_coder_files_need_documents_of_this_project(runner, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    run(runner, "init", folder)
    result = run(runner, "-p", folder, "import", "taguette", TAGUETTE / "highlights.csv", "--coder", "remi", code=1)
    assert "not in this project" in result.output
