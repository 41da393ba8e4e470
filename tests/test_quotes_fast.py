"""``analysis.quotes`` chooses the quotes before building them (fast at 1,000 documents):
its table must equal ``quote_table(retrieve(...))``, which builds every passage first.

Random projects in memory: overlapping and repeated spans, two coders coding some spans
alike (counted once), cases in three groups, filters and context.
"""

from __future__ import annotations

import random

import pytest

from qda import analysis
from qda.models import Case, Code, Codebook, Coding, Segment


def _project(seed: int):
    rng = random.Random(seed)
    codebook = Codebook("q", ("en",), codes=tuple(Code(f"k{i}", {"en": f"code {i}"}) for i in range(5)))
    cases = [Case(f"C{i}", {"group": rng.choice(["a", "b", "c"])}) for i in range(6)]
    segments, codings, texts = [], [], {}
    for case in cases:
        doc = f"D{case.name}"
        words = [rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(40)]
        text = " ".join(words)
        texts[doc] = text
        pos = 0
        for s in range(8):  # five words a segment
            chunk = " ".join(words[5 * s:5 * s + 5])
            segments.append(Segment(f"{doc}#{s + 1}", doc, case.name, s + 1, s + 1, pos, pos + len(chunk), chunk,
                                    "R", "respondent"))
            pos += len(chunk) + 1
        for _ in range(rng.randint(0, 12)):
            seg = rng.choice(segments[-8:])
            start = seg.start + rng.choice([0, 2])
            code = rng.choice(codebook.codes).id
            for coder in rng.choice([["x"], ["y"], ["x", "y"]]):
                codings.append(Coding(coder, code, doc, case.name, start, seg.end, seg.ref, text[start:seg.end]))
    return codebook, cases, segments, codings, texts


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("query", [{}, {"coders": ["x"]}, {"codes": ["k1", "k2"]}, {"context": 1},
                                   {"where": {"group": "a"}}, {"exclude": ["k3"]}, {"case_names": ["C1", "C2"]}])
def test_quotes_equal_the_table_built_from_the_full_retrieval(seed: int, query: dict) -> None:
    codebook, cases, segments, codings, texts = _project(seed)
    for per_code in (1, 2, 3):
        full = analysis.quote_table(codebook, cases,
                                    analysis.retrieve(codebook, cases, segments, codings=codings, texts=texts,
                                                                       **query), by="group", per_code=per_code,
                                    lang="en")
        fast = analysis.quotes(codebook, cases, segments, codings=codings, texts=texts, by="group", per_code=per_code,
                               lang="en", **query)
        assert fast.to_dict() == full.to_dict()
        assert fast.cells == full.cells


def test_quotes_refuse_what_quote_table_refuses() -> None:
    codebook, cases, segments, codings, texts = _project(0)
    with pytest.raises(analysis.AnalysisError, match="per-code"):
        analysis.quotes(codebook, cases, segments, codings=codings, texts=texts, by="group", per_code=0)
    with pytest.raises(Exception, match="no case has the attribute 'size'"):
        analysis.quotes(codebook, cases, segments, codings=codings, texts=texts, by="size", per_code=2)
