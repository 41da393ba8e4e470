"""Benchmark of the analyses (qda.analysis) and of the HTML synthesis report.

Synthetic project held in memory (the analyses are pure functions; building a real
1,000-transcript project costs minutes of spaCy): 1,000 documents (one per case, two
groups), 100 ten-word segments each, 50 codes, 2 coders coding every segment once
(~200,000 codings), 1,000 tokens per document from a Zipf vocabulary. Each analysis
is timed (best of 3) beside a plain pandas/scipy computation of the same numbers where
one exists. Peak memory is the process's maximum resident size at the end.

Run: ``python bench/analysis.py`` (from the repository root).
"""

from __future__ import annotations

import argparse
import resource
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agreement import best_time  # noqa: E402  (the benches time the same way: best of 3)

from qda import analysis, matrix  # noqa: E402
from qda.models import Case, Code, Codebook, Coding, Segment  # noqa: E402


def make_project(documents: int, codes: int, segments: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    vocabulary = [f"mot{i}" for i in range(5000)]
    weights = 1 / np.arange(1, 5001)
    weights /= weights.sum()
    codebook = Codebook("bench", ("fr",), codes=tuple(Code(f"c{i}", {"fr": f"code {i}"}) for i in range(codes)))
    cases, segs, codings, texts, docs = [], [], [], {}, []
    for d in range(documents):
        name = f"D{d:04d}"
        cases.append(Case(name, {"group": "entry" if d % 2 else "post-entry"}))
        words = list(rng.choice(vocabulary, size=segments * 10, p=weights))
        text_parts, starts, ends, pos = [], [], [], 0
        for w in words:
            starts.append(pos)
            ends.append(pos + len(w))
            text_parts.append(w)
            pos += len(w) + 1
        text = " ".join(text_parts)
        texts[name] = text
        docs.append(analysis.DocumentTokens(name, name, "fr", text, starts, ends, words, words))
        for s in range(segments):
            start, end = starts[s * 10], ends[s * 10 + 9]
            segs.append(Segment(f"{name}#{s + 1}", name, name, s + 1, s + 1, start, end, text[start:end],
                                "R", "respondent"))
        for coder in ("a", "b"):
            picks = rng.integers(0, codes, size=segments)
            for s, k in enumerate(picks):
                seg = segs[-segments + s]
                codings.append(Coding(coder, f"c{k}", name, name, seg.start, seg.end, seg.ref, seg.text))
    return codebook, cases, segs, codings, texts, docs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--codes", type=int, default=50)
    parser.add_argument("--segments", type=int, default=100)
    args = parser.parse_args()
    codebook, cases, segs, codings, texts, docs = make_project(args.documents, args.codes, args.segments)
    mine = [c for c in codings if c.coder == "a"]
    print(f"{args.documents} documents, {len(segs):,} segments, {args.codes} codes, {len(codings):,} codings\n")

    frame = pd.DataFrame({"case": [c.case for c in mine], "code": [c.code for c in mine]})
    groups = {c.name: c.attributes["group"] for c in cases}

    def pandas_cooccur() -> object:
        x = (pd.crosstab(frame["case"], frame["code"]) > 0).astype(int)
        return x.T @ x

    def scipy_fisher() -> object:
        from scipy.stats import fisher_exact
        x = (pd.crosstab(frame["case"], frame["code"]) > 0)
        g = x.index.map(groups)
        return [fisher_exact(pd.crosstab(x[c], g).to_numpy()) for c in x.columns]

    def pandas_words() -> object:
        return pd.Series([w for d in docs for w in d.lower]).value_counts()

    rows: list[tuple[str, Callable[[], object], Callable[[], object] | None]] = [
        ("retrieve one code, one coder",
         lambda: analysis.retrieve(codebook, cases, segs, codings=codings, texts=texts, codes=["c1"],
                                                                   coders=["a"]), None),
        ("retrieve every code, both coders, context 1",
         lambda: analysis.retrieve(codebook, cases, segs, codings=codings, texts=texts, context=1), None),
        ("quotes: 2 per code and group",
         lambda: analysis.quotes(codebook, cases, segs, codings=mine, texts=texts, by="group", per_code=2),
         None),
        ("cooccur case level, by group",
         lambda: analysis.cooccurrence(codebook, cases, segs, codings=mine, coder="a", level="case",
                                                                       by="group"), pandas_cooccur),
        ("cooccur segment level",
         lambda: analysis.cooccurrence(codebook, cases, segs, codings=mine, coder="a", level="segment"), None),
        ("cooccur overlap level",
         lambda: analysis.cooccurrence(codebook, cases, segs, codings=mine, coder="a", level="overlap"), None),
        ("cooccur near 2 segments",
         lambda: analysis.cooccurrence(codebook, cases, segs, codings=mine, coder="a", level="near", near=2),
         None),
        ("cooccur case level + clustering",
         lambda: analysis.cooccurrence(codebook, cases, segs, codings=mine, coder="a", level="case",
                                                                          cluster=True), None),
        ("cross --test (Fisher, Holm, BH)",
         lambda: analysis.attribute_tests(codebook, cases, mine, by="group", coder="a"),
         scipy_fisher),
        ("words per group + distinctive", lambda: analysis.word_counts(docs, cases, segs, by="group"), pandas_words),
        ("search exact", lambda: analysis.search(docs, cases, segs, query="mot7"), None),
        ("search regex", lambda: analysis.search(docs, cases, segs, query=r"mot1\d\b", mode="regex"), None),
    ]
    print("| analysis | qda (s) | pandas/scipy (s) |")
    print("|---|---:|---:|")
    for name, fn, reference in rows:
        ours = best_time(fn)
        theirs = f"{best_time(reference):.2f}" if reference else "–"
        print(f"| {name} | {ours:.2f} | {theirs} |")

    from qda.export.synthesis import ReportData, render_synthesis

    def report() -> object:
        cooc = analysis.cooccurrence(codebook, cases, segs, codings=mine, coder="a", level="case", by="group",
                                     cluster=True)
        data = ReportData(
            "bench", "bench", codebook, cases, len(docs), len(segs), "a", "group", "fr",
            matrix.cross_case(codebook, cases, mine, by="group", coder="a"),
            matrix.meta_matrix(codebook, cases, mine, by="group", coder="a"),
            None, cooc, analysis.attribute_tests(codebook, cases, mine, by="group", coder="a"),
            analysis.quotes(codebook, cases, segs, codings=mine, texts=texts, by="group", per_code=2),
            analysis.word_counts(docs, cases, segs, by="group", unit="lemma"), None)
        return render_synthesis(data)

    print(f"| report (every section, figures) | {best_time(report, 1):.2f} | – |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
