"""The workspace's decisions live in the core (issue 18 item 2): blind mode, coverage and turn
grouping are pure functions of qda.coding.workspace, and the web layer reaches the project
through the facade only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qda.coding.workspace import (
    check_review_access,
    check_unblinded,
    document_coverage,
    effective_blind,
    listed_coders,
    memo_author_filter,
    retrieval_coders,
    turn_groups,
    visible_coders,
)
from qda.errors import AccessError, NotFoundError
from qda.models import Case, Coding, Document, Segment

WEB = Path(__file__).resolve().parent.parent / "qda" / "web"


def segment(document: str, turn: int, ordinal: int, start: int, end: int, speaker: str = "I") -> Segment:
    return Segment(ref=f"{document}#{ordinal}", document=document, case="c1", turn=turn, ordinal=ordinal,
                   start=start, end=end, text="",
                   speaker=speaker, role="respondent" if speaker == "R" else "interviewer")


def coding(coder: str, start: int, end: int, status: str = "ok", document: str = "D") -> Coding:
    return Coding(coder=coder, code="a", document=document, case="c1", start=start, end=end, status=status)


def test_no_store_access_anywhere_in_the_web_layer() -> None:
    found = [f"{path.name}:{n}" for path in sorted(WEB.glob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\.store\b|\._store\b", line)]
    assert found == []


def test_turns_group_consecutive_segments_of_one_turn() -> None:
    segments = [segment("D", 0, 0, 0, 10), segment("D", 1, 1, 12, 20, "R"), segment("D", 1, 2, 21, 30, "R"),
                segment("D", 2, 3, 32, 40)]
    turns = turn_groups(segments)
    assert [(t["turn"], t["start"], t["end"], len(t["segments"])) for t in turns] == [
        (0, 0, 10, 1), (1, 12, 30, 2), (2, 32, 40, 1)]
    assert turns[1]["speaker"] == "R" and turns[1]["role"] == "respondent"
    assert turns[1]["segments"][1] == {"ref": segments[2].ref, "start": 21, "end": 30}


def test_coverage_counts_segments_touched_by_the_coders_shown_codings_only() -> None:
    documents = [Document("D", "c1", "one two three four five", ""), Document("E", "c1", "six seven", "")]
    segments = [segment("D", 0, 0, 0, 7), segment("D", 0, 1, 8, 13), segment("D", 0, 2, 14, 23),
                segment("E", 0, 0, 0, 9)]
    codings = [coding("ana", 0, 3), coding("ana", 9, 12), coding("ana", 15, 18, status="negated"),
               coding("ben", 15, 18)]
    listed = document_coverage(documents, [Case("c1", {"site": "north"})], segments, codings=codings, coder="ana")
    first, second = listed.to_dict()["documents"]
    assert listed.coder == "ana" and listed.to_frame()["codings"].tolist() == [3, 0]
    # the negated coding counts neither as coverage nor in the per-coder numbers
    assert (first["segments"], first["coded_segments"], first["codings"]) == (3, 2, {"ana": 2, "ben": 1})
    assert first["attributes"] == {"site": "north"} and first["words"] == 5
    assert (second["segments"], second["coded_segments"], second["codings"]) == (1, 0, {})


def test_blind_mode_decisions() -> None:
    assert effective_blind(True, unblind_server=False) is True
    assert effective_blind(True, unblind_server=True) is False
    assert effective_blind(False, unblind_server=False) is False
    assert visible_coders(True, "ana", {}) == ["ana"]
    assert visible_coders(False, "ana", {"coders": "ana, ben;ana"}) == ["ana", "ben"]
    with pytest.raises(NotFoundError, match="'ben'"):
        visible_coders(True, "ana", {"coder": "ben"})
    assert retrieval_coders(False, "ana", "*", every=["ana", "ben"]) == ["ana", "ben"]
    with pytest.raises(NotFoundError):
        retrieval_coders(True, "ana", "*", every=["ana", "ben"])
    assert memo_author_filter(True, "ana") == "ana" and memo_author_filter(False, "ana") is None
    with pytest.raises(NotFoundError):
        memo_author_filter(True, "ana", "ben")
    with pytest.raises(AccessError, match="blind mode lifted"):
        check_unblinded(True)
    check_unblinded(False)
    with pytest.raises(AccessError, match="learnt from ben"):
        check_review_access(True, "ana", "ben")
    check_review_access(False, "ana", "ben")
    assert listed_coders(True, True, "ana", every=["ana", "ben"]) == ["ana"]
    assert listed_coders(False, True, "ana", every=["ana", "ben"]) == ["ana", "ben"]
