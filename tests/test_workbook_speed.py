"""The workbook's fast path (issue 18 item 6, fourth round) changes no output.

``qda export workbook`` reads a coder's codings as rows (``Store.quote_rows``), builds the
intra-case matrices and the passage counts from them, and chooses the quotes among the few
cases they can come from. Each piece is held against the straightforward computation from
every Coding, on the example study with codings that count differently (negated, orphaned,
zero-length, a machine's), and the whole workbook against one built the slow way, cell by
cell, value and look.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import workbook_look

from qda import matrix
from qda.export.workbook import synthesis_data, write_workbook
from qda.ingest.sets import SetScope
from qda.models import CooccurrenceLevel, counting_statuses
from qda.project import Project

from conftest import study_with_uncounted_codings

CODERS = ("coder-a", "coder-b", "consensus", "auto")


@pytest.fixture(scope="module")
def study_auto(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example study with auto-coding's codings, some of them negated or orphaned (they
    do not count) and one of zero characters (a use, never a quote)."""
    folder = tmp_path_factory.mktemp("wbspeed") / "study"
    return study_with_uncounted_codings(study_project, folder, CODERS)


@pytest.mark.parametrize("coder", CODERS)
def test_quote_rows_are_the_counted_codings_in_their_order(study_auto: Path, coder: str) -> None:
    with Project.open(study_auto) as project:
        codings = project.codings(coder)
        rows = project._store.quote_rows(coder, counting_statuses(coder_named=True))
    assert len(codings) > 10
    assert rows == [(c.case, c.code, c.document, c.segment, c.speaker, c.start, c.end, c.text, c.note)
                    for c in codings]


@pytest.mark.parametrize("coder", CODERS)
def test_intra_cases_and_tallies_from_rows_equal_those_from_codings(study_auto: Path, coder: str) -> None:
    with Project.open(study_auto) as project:
        codebook, cases, codings = project.codebook(), project.cases(), project.codings(coder)
        rows = project._store.quote_rows(coder, counting_statuses(coder_named=True))
        usage, spans, _documents = project._tallies(coder)
    names = [c.name for c in cases]
    got = matrix.intra_cases(codebook, rows, names, coder=coder)
    expected = [matrix.intra_case(codebook, codings, name, coder=coder) for name in names]
    assert sum(len(m.rows) for m in expected) > 5
    assert got == expected
    assert matrix.passage_tallies((r[0], r[1], r[2], r[5], r[6]) for r in rows) == (usage, spans)


def test_quote_rows_keep_to_a_document_set(study_auto: Path) -> None:
    with Project.open(study_auto) as project:
        store = project._store
        chosen = {d.name for d in store.documents()[:2]}
        statuses = counting_statuses(coder_named=True)
        every = store.quote_rows("consensus", statuses)
        kept = SetScope(store, sorted(chosen)).quote_rows("consensus", statuses)
    assert kept == [row for row in every if row[2] in chosen]
    assert 0 < len(kept) < len(every)


@pytest.mark.parametrize("coder", ["consensus", "auto"])
def test_the_workbook_equals_one_built_from_every_coding(study_auto: Path, tmp_path: Path, coder: str) -> None:
    """Every cell's value and look, sheet by sheet, against the workbook built the way it was
    before: every Coding read, the quotes chosen among all of them."""
    with Project.open(study_auto) as project:
        fast = project.export_workbook(tmp_path / "fast.xlsx", coder, "group")
        codebook, cases, codings = project.codebook(), project.cases(), project.codings(coder)
        data = synthesis_data(codebook, cases, codings, coder=coder, by="group",
                              cooccurrence=project.cooccurrence(coder, level=CooccurrenceLevel.CASE, by="group"),
                              quotes=project._quotes(codebook, cases, codings, "group", 2, coders=[coder]))
        from dataclasses import replace

        data = replace(data, intra=project._placed_all(data.intra), coverage=project.coverage([coder]))
        slow = write_workbook(tmp_path / "slow.xlsx", data)
    expected, got = workbook_look.look(slow), workbook_look.look(fast)
    assert sum(len(sheet["cells"]) for sheet in expected["sheets"].values()) > 500
    assert workbook_look.differences(expected, got) == []
