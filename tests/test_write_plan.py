"""The write path: planners return plans of model objects and write nothing; the project commits them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qda import Project
from qda.coding import plan_sheet
from qda.errors import ProjectError
from qda.models import Coding, CodingScope, Memo, Segment, WritePlan

from conftest import snapshot


def test_a_sheet_plan_writes_nothing_until_committed(small_project: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "ana.csv"
    sheet.write_text("segment,codes,memo\nA1#3,h; b,vu\nA1#4,\n", encoding="utf-8")
    before = snapshot(small_project)
    with Project.open(small_project) as project:
        plan, result = plan_sheet(project._store, sheet, "ana")
        assert snapshot(small_project) == before
        assert all(isinstance(c, Coding) for c in plan.codings)
        assert sorted((c.segment, c.code, c.note, c.source) for c in plan.codings) == [
            ("A1#3", "b", "vu", "sheet"), ("A1#3", "h", "vu", "sheet")]
        assert plan.replace == (CodingScope("ana", segments=("A1#3", "A1#4"), statuses=("ok", "changed", "suggested")),)
        assert (result.rows, result.codings, result.replaced) == (2, 2, 0)
        assert project.commit(plan) == 0
        stored = project._store.codings(coder="ana")
        segment = {s.ref: s for s in project.segments()}["A1#3"]
    assert sorted((c.code, c.start, c.end, c.text) for c in stored) == [
        ("b", segment.start, segment.end, segment.text), ("h", segment.start, segment.end, segment.text)]


def test_a_scope_replaces_only_its_segments(small_project: Path) -> None:
    with Project.open(small_project) as project:
        first, second = project.segments()[:2]

        def on(segment: Segment, code: str) -> Coding:
            return Coding(coder="ana", code=code, document=segment.document, case=segment.case,
                          start=segment.start, end=segment.end, segment=segment.ref)

        project.commit(WritePlan(codings=(on(first, "b"), on(second, "h"))))
        replaced = project.commit(WritePlan(replace=(CodingScope("ana", segments=(first.ref,)),),
                                            codings=(on(first, "y"),)))
        assert replaced == 1
        assert sorted((c.segment, c.code) for c in project._store.codings(coder="ana")) == [
            (first.ref, "y"), (second.ref, "h")]


def test_memos_keep_what_an_import_gives(small_project: Path) -> None:
    memo = Memo(text="Mémo", target_kind="document", target="A1", name="n", author="ana", created_at="",
                guid="g-1")
    with Project.open(small_project) as project:
        project.commit(WritePlan(memos=(memo,)))
        [stored] = project._store.memos()
    assert replace(stored, id=None) == memo  # an empty time stays empty (a REFI-QDA round trip needs it)


def test_codings_on_unknown_names_are_refused_whole(small_project: Path) -> None:
    with Project.open(small_project) as project:
        segment = project.segments()[0]
        bad = Coding(coder="newcomer", code="b", document=segment.document, case=segment.case, start=0, end=1,
                     segment="A1#999")
        with pytest.raises(ProjectError, match="unknown segment 'A1#999'"):
            project.commit(WritePlan(codings=(bad,)))
        assert "newcomer" not in project._store.coders()
        assert project._store.count_codings() == 0
