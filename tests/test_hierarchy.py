"""Category subtotals from a code hierarchy (REFI-QDA parent codes, no YAML category):
a parent code is the category of its children and its subtotal sums them, as Table 2's do.

Synthetic codebook ``tests/fixtures/refi/hierarchy.qdc``::

    Channels (folder, not codable)
        Online
            LinkedIn
            Job boards
        Fairs
    Network
        Alumni
        Referrals
    Other

Cases A1, A2 (group x); B1, B2, B3 (group y). Codes used (coder "c"):
A1: LinkedIn, Job boards, Network | A2: LinkedIn, Fairs, Alumni (twice)
B1: Online, Referrals, Other      | B2: Job boards, Alumni, Referrals | B3: Fairs

Cases using each code, worked out by hand:

    code        x  y  total
    Online      0  1  1
    LinkedIn    2  0  2
    Job boards  1  1  2
    Subtotal Online (LinkedIn + Job boards)        3  1  4
    Fairs       1  1  2
    Subtotal Channels (Online + Fairs)             1  2  3
    Network     1  0  1
    Alumni      1  1  2
    Referrals   0  2  2
    Subtotal Network (Alumni + Referrals)          1  3  4
    Other       0  1  1
    Subtotal (no category) (Network + Other)       1  1  2
    Total       6  7  13

Each code is counted in one subtotal, so the subtotals add up to the total (3+1+1+1 = 6,
1+2+3+1 = 7), as the categories of a YAML codebook do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qda import matrix
from qda.models import Case, Coding
from qda.refi.plan import codebook_from_refi
from qda.refi.read import read_refi

FIXTURE = Path(__file__).parent / "fixtures" / "refi" / "hierarchy.qdc"
USED = {"A1": ["LinkedIn", "Job boards", "Network"], "A2": ["LinkedIn", "Fairs", "Alumni", "Alumni"],
        "B1": ["Online", "Referrals", "Other"], "B2": ["Job boards", "Alumni", "Referrals"], "B3": ["Fairs"]}


@pytest.fixture(scope="module")
def table() -> matrix.CrossCaseTable:
    codebook, _ = codebook_from_refi(read_refi(FIXTURE), "en")
    assert not codebook.categories and any(c.parent for c in codebook.codes)
    ids = {c.label(): c.id for c in codebook.codes}
    cases = [Case(name, {"group": "x" if name.startswith("A") else "y"}) for name in USED]
    codings = [Coding(coder="c", code=ids[label], document=case, case=case, start=10 * i, end=10 * i + 5,
                      segment=f"{case}#{i + 1}", text="...")
               for case, labels in USED.items() for i, label in enumerate(labels)]
    return matrix.cross_case(codebook, cases, codings, by="group", coder="c", count="cases", lang="en")


def test_parent_codes_get_subtotals_like_categories(table: matrix.CrossCaseTable) -> None:
    rows = [(r.kind, r.label, r.counts, r.total) for r in table.rows]
    assert rows == [
        ("category", "(no category)", (), 0),
        ("category", "Channels", (), 0),
        ("code", "Online", (0, 1), 1),
        ("code", "LinkedIn", (2, 0), 2),
        ("code", "Job boards", (1, 1), 2),
        ("subtotal", "Subtotal: Online", (3, 1), 4),
        ("code", "Fairs", (1, 1), 2),
        ("subtotal", "Subtotal: Channels", (1, 2), 3),
        ("code", "Network", (1, 0), 1),
        ("code", "Alumni", (1, 1), 2),
        ("code", "Referrals", (0, 2), 2),
        ("subtotal", "Subtotal: Network", (1, 3), 4),
        ("code", "Other", (0, 1), 1),
        ("subtotal", "Subtotal: (no category)", (1, 1), 2),
        ("total", "Total", (6, 7), 13),
    ]


def test_subtotal_shares_are_of_the_column_total(table: matrix.CrossCaseTable) -> None:
    online = next(r for r in table.rows if r.label == "Subtotal: Online")
    assert online.shares == (pytest.approx(3 / 6), pytest.approx(1 / 7)) and online.total_share == pytest.approx(4 / 13)
    subtotals = [r for r in table.rows if r.kind == "subtotal"]
    assert sum(r.total for r in subtotals) == 13  # every code in exactly one subtotal
    assert sum(r.total_share for r in subtotals) == pytest.approx(1.0)


def test_children_sit_under_their_parent(table: matrix.CrossCaseTable) -> None:
    depth = {r.label: r.depth for r in table.rows}
    assert depth["Channels"] == 1 and depth["Online"] == 2 and depth["LinkedIn"] == 3 and depth["Fairs"] == 2
    assert depth["Subtotal: Online"] == 2 and depth["Subtotal: Channels"] == 1
    frame = table.to_frame()
    linkedin = frame[frame["label"] == "LinkedIn"].iloc[0]
    assert linkedin["category"] == next(r.key for r in table.rows if r.label == "Online")
