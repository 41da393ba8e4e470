"""Codebook lookups use indexes (issue 11: `codebook show -f json` on 34,489 codes took
4 min 45 s); they must answer exactly what the linear scans answered. Speed: bench/codebook.py."""

from __future__ import annotations

import pytest

from qda.codebook import codebook_to_dict, parse_codebook

from conftest import CODEBOOK

NESTED = """name: nested
languages: [en]
categories:
  - id: top
    label: Top
    categories:
      - id: sub
        label: Sub
        codes:
          - id: p
            label: Parent
            codes:
              - {id: k1, label: Kid one}
              - {id: k2, label: Kid two}
  - id: other
    label: Other
codes:
  - {id: loose, label: Loose}
"""


@pytest.mark.parametrize("text", [NESTED, CODEBOOK.read_text(encoding="utf-8")])
def test_indexed_lookups_match_scans(text: str) -> None:
    codebook = parse_codebook(text, "cb.yaml")
    for code in codebook.codes:
        assert codebook.code(code.id) is code
        assert codebook.subcodes(code.id) == [c for c in codebook.codes if c.parent == code.id]
    for cat_id in [None, *(c.id for c in codebook.categories)]:
        assert codebook.children(cat_id) == [c for c in codebook.categories if c.parent == cat_id]
        assert codebook.codes_in(cat_id) == [c for c in codebook.codes if c.category == cat_id]
    with pytest.raises(KeyError):
        codebook.code("nope")
    with pytest.raises(KeyError):
        codebook.category("nope")


def test_nested_codes_round_trip() -> None:
    codebook = parse_codebook(NESTED, "cb.yaml")
    data = codebook_to_dict(codebook)
    [sub] = data["categories"][0]["categories"]
    assert [k["id"] for k in sub["codes"][0]["codes"]] == ["k1", "k2"]
    assert data["codes"] == [{"id": "loose", "label": {"en": "Loose"}}]
