"""Retrieval, co-occurrence, code x attribute tests, words and search on the reference study.

Expected values come from outside qda: the example coders' sheets read with openpyxl, the
profiles CSV, the transcript files read as plain text, scipy/statsmodels directly, and
worked examples computed by hand.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from scipy.cluster.hierarchy import dendrogram, linkage
from scipy.spatial.distance import pdist
from scipy.stats import fisher_exact
from scipy.stats.contingency import association

from qda import Project
from qda.analysis import benjamini_hochberg, dice, holm, jaccard, log_odds_dirichlet, ochiai, odds_ratio_ci

from conftest import EXAMPLE, run, run_json

CODES = "abcdefghijklmnopqrstuvwxy"


def _sheet(coder: str = "consensus") -> list[dict]:
    """Rows of a coder's sheet: case, document, segment, text, codes (a set)."""
    ws = load_workbook(EXAMPLE / f"{coder}.xlsx", read_only=True)["Coding"]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    out = []
    for values in rows[1:]:
        row = dict(zip(header, values))
        row["codes"] = {c.strip() for c in str(row["codes"] or "").split(";") if c.strip()}
        out.append(row)
    return out


def _groups() -> dict[str, str]:
    with (EXAMPLE / "profiles.csv").open(encoding="utf-8") as fh:
        return {r["case"]: r["group"] for r in csv.DictReader(fh)}


def _case_codes(coder: str = "consensus") -> dict[str, set[str]]:
    used: dict[str, set[str]] = defaultdict(set)
    for row in _sheet(coder):
        used[row["case"]] |= row["codes"]
    return used


# ----------------------------------------------------------------------------- retrieval

def test_retrieve_one_code_by_group_matches_the_sheet(runner, study_project: Path) -> None:
    groups = _groups()
    expected = {r["segment"] for r in _sheet() if "h" in r["codes"] and groups[r["case"]] == "post-entry"}
    data = run_json(runner, "-p", study_project, "retrieve", "--code", "h", "--coder", "consensus",
                    "--where", "group=post-entry")
    assert {p["segment"] for p in data["passages"]} == expected
    assert data["count"] == len(expected) > 0
    with Project.open(study_project) as project:
        api = project.retrieve(codes=["h"], coders=["consensus"], where={"group": "post-entry"})
    assert data == json.loads(json.dumps(api.to_dict()))


def test_retrieve_and_not_and_context(runner, study_project: Path) -> None:
    rows = _sheet()
    both = {r["segment"] for r in rows if {"n", "j"} <= r["codes"]}
    data = run_json(runner, "-p", study_project, "retrieve", "--code", "n", "--code", "j", "--match", "all",
                    "--coder", "consensus", "--context", "1")
    assert {p["segment"] for p in data["passages"]} == both == {"P2#65"}
    i = next(k for k, r in enumerate(rows) if r["segment"] == "P2#65")
    assert data["passages"][0]["before"] == rows[i - 1]["text"]
    assert data["passages"][0]["after"] == rows[i + 1]["text"]
    assert data["passages"][0]["codes"] == ["j", "n"]
    only_j = {r["segment"] for r in rows if "j" in r["codes"] and "n" not in r["codes"]}
    data = run_json(runner, "-p", study_project, "retrieve", "--code", "j", "--not", "n", "--coder", "consensus")
    assert {p["segment"] for p in data["passages"]} == only_j
    either = {r["segment"] for r in rows if r["codes"] & {"t", "u"}}
    data = run_json(runner, "-p", study_project, "retrieve", "--code", "t", "--code", "u", "--coder", "consensus")
    assert {p["segment"] for p in data["passages"]} == either


def test_retrieve_by_coder_case_and_document(runner, study_project: Path) -> None:
    expected = {r["segment"] for r in _sheet("coder-b") if r["case"] == "E4" and r["codes"]}
    data = run_json(runner, "-p", study_project, "retrieve", "--coder", "coder-b", "--case", "E4")
    assert {p["segment"] for p in data["passages"]} == expected
    assert {p["coder"] for p in data["passages"]} == {"coder-b"}
    data = run_json(runner, "-p", study_project, "retrieve", "--coder", "coder-a", "--document", "P3")
    assert {p["segment"] for p in data["passages"]} == {r["segment"] for r in _sheet("coder-a")
                                                         if r["document"] == "P3" and r["codes"]}


def test_retrieve_rejects_unknown_names_and_bad_queries(runner, study_project: Path) -> None:
    result = run(runner, "-p", study_project, "retrieve", "--code", "zz", code=1)
    assert "unknown code" in result.output
    result = run(runner, "-p", study_project, "retrieve", "--code", "h", "--match", "all", code=1)
    assert "two or more codes" in result.output
    result = run(runner, "-p", study_project, "retrieve", "--where", "sector=optics", code=1)
    assert "no case has the attribute 'sector'" in result.output
    result = run(runner, "-p", study_project, "retrieve", "--coder", "nobody", code=1)
    assert "unknown coder" in result.output


def test_quote_table_gives_k_quotes_per_code_and_group_from_different_cases(runner, study_project: Path,
                                                                           tmp_path: Path) -> None:
    groups = _groups()
    rows = _sheet()
    data = run_json(runner, "-p", study_project, "retrieve", "--coder", "consensus", "--by", "group",
                    "--per-code", "2")
    seen = 0
    for entry in data["codes"]:
        code = entry["code"]
        for group, cell in entry["groups"].items():
            pool = [r for r in rows if code in r["codes"] and groups[r["case"]] == group]
            assert cell["available"] == len(pool)
            assert len(cell["quotes"]) == min(2, len(pool))
            for quote in cell["quotes"]:
                assert any(r["segment"] == quote["segment"] and r["text"] == quote["text"] for r in pool)
            cases_with = {r["case"] for r in pool}
            assert len({q["case"] for q in cell["quotes"]}) == min(2, len(cases_with))
            seen += len(cell["quotes"])
    assert seen > 0
    assert {e["code"] for e in data["codes"]} == set().union(*(r["codes"] for r in rows))
    out = tmp_path / "quotes.xlsx"
    run(runner, "-p", study_project, "retrieve", "--coder", "consensus", "--by", "group", "-o", out)
    ws = load_workbook(out)["Illustrative quotes"]
    assert ws.max_row == seen + 1
    longest = max(range(2, ws.max_row + 1), key=lambda r: len(str(ws.cell(r, 7).value)))
    assert ws.row_dimensions[longest].height > 15  # wrapped quotes get taller rows
    html = tmp_path / "quotes.html"
    run(runner, "-p", study_project, "retrieve", "--code", "h", "--coder", "consensus", "-o", html)
    assert html.read_text(encoding="utf-8").count("<tr>") == 1 + sum("h" in r["codes"] for r in rows)


# ----------------------------------------------------------------------------- co-occurrence

def test_association_coefficients_on_a_worked_example() -> None:
    # A = {1, 2, 3, 4}, B = {3, 4, 5}: a = 2 shared, b = 2 only in A, c = 1 only in B.
    assert jaccard(2, 4, 3) == pytest.approx(2 / 5)  # a / (a + b + c)
    assert dice(2, 4, 3) == pytest.approx(4 / 7)  # 2a / (2a + b + c)
    assert ochiai(2, 4, 3) == pytest.approx(2 / math.sqrt(12))  # a / sqrt((a + b)(a + c))
    # ... and the same sets as binary vectors through scipy's implementations
    x = np.array([1, 1, 1, 1, 0], dtype=bool)
    y = np.array([0, 0, 1, 1, 1], dtype=bool)
    from scipy.spatial import distance
    assert jaccard(2, 4, 3) == pytest.approx(1 - distance.jaccard(x, y))
    assert dice(2, 4, 3) == pytest.approx(1 - distance.dice(x, y))
    assert ochiai(2, 4, 3) == pytest.approx(1 - distance.cosine(x.astype(float), y.astype(float)))
    assert jaccard(0, 0, 0) is None and ochiai(0, 3, 0) is None


def test_published_examples_of_the_coefficients() -> None:
    # ATLAS.ti's manual (Code Co-occurrence Coefficient): codes applied 100 and 10 times,
    # 5 co-occurrences: c = 5 / (100 + 10 - 5) = 0.048, a pair the manual says to flag
    assert jaccard(5, 100, 10) == pytest.approx(5 / 105)
    assert round(jaccard(5, 100, 10), 3) == 0.048
    from qda.analysis import _pair
    assert "at most 0.10" in _pair("A", "B", 100, 10, 5, True).warning
    # Sørensen–Dice on the bigrams of "night" {ni, ig, gh, ht} and "nacht" {na, ac, ch, ht}
    # (the usual textbook example): 2 x 1 / (4 + 4) = 0.25
    night, nacht = {"ni", "ig", "gh", "ht"}, {"na", "ac", "ch", "ht"}
    assert dice(len(night & nacht), len(night), len(nacht)) == pytest.approx(0.25)
    assert ochiai(len(night & nacht), len(night), len(nacht)) == pytest.approx(1 / math.sqrt(16))


def test_case_level_cooccurrence_matches_the_sheet(runner, study_project: Path) -> None:
    used = _case_codes()
    groups = _groups()
    # hand check: the post-entry firms using both trade fairs (h) and conference presentations (j)
    both = sorted(c for c in used if groups[c] == "post-entry" and {"h", "j"} <= used[c])
    assert both == ["P2", "P3", "P5"]
    data = run_json(runner, "-p", study_project, "matrix", "cooccur", "--coder", "consensus", "--by", "group")
    tables = {t["group"]: t for t in data["tables"]}
    assert set(tables) == {"all", "entry", "post-entry"}
    post = {(p["a"], p["b"]): p for p in tables["post-entry"]["pairs"]}
    assert post[("h", "j")]["n_ab"] == 3
    assert post[("h", "j")]["jaccard"] == pytest.approx(3 / 5)  # h in 5 firms, j in 3
    for group, table in tables.items():
        cases = [c for c in used if group == "all" or groups[c] == group]
        assert table["units"] == len(cases)
        for p in table["pairs"]:
            with_a = {c for c in cases if p["a"] in used[c]}
            with_b = {c for c in cases if p["b"] in used[c]}
            assert (p["n_a"], p["n_b"], p["n_ab"]) == (len(with_a), len(with_b), len(with_a & with_b))
            if with_a | with_b:
                assert p["jaccard"] == pytest.approx(len(with_a & with_b) / len(with_a | with_b))


def test_unequal_frequencies_are_flagged(study_project: Path) -> None:
    with Project.open(study_project) as project:
        result = project.cooccurrence("consensus", level="case")
    pair = next(p for p in result.tables[0].pairs if (p.a, p.b) == ("g", "h"))  # g: 1 case, h: 9
    assert (pair.n_a, pair.n_b, pair.n_ab) == (1, 9, 1)
    assert "at most 0.11" in pair.warning
    balanced = next(p for p in result.tables[0].pairs if (p.a, p.b) == ("t", "u"))
    assert balanced.warning == ""


def test_segment_overlap_and_near_levels_match_the_sheet(study_project: Path) -> None:
    rows = _sheet()
    with Project.open(study_project) as project:
        seg = project.cooccurrence("consensus", level="segment")
        over = project.cooccurrence("consensus", level="overlap")
        near = project.cooccurrence("consensus", level="near", near=1)
    multi = [r for r in rows if len(r["codes"]) > 1]
    assert seg.tables[0].units == len(rows)
    nonzero = {(p.a, p.b): p.n_ab for p in seg.tables[0].pairs if p.n_ab}
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for r in multi:
        for a, b in itertools.combinations(sorted(r["codes"]), 2):
            expected[(a, b)] += 1
    assert nonzero == dict(expected)
    assert {(p.a, p.b): p.n_ab for p in over.tables[0].pairs if p.n_ab} == dict(expected)
    # near: passages (document, segment ordinal, code), pairs of different codes <= 1 segment apart
    passages = [(r["document"], int(r["segment"].split("#")[1]), c) for r in rows for c in r["codes"]]
    near_expected: dict[tuple[str, str], int] = defaultdict(int)
    for (d1, o1, c1), (d2, o2, c2) in itertools.combinations(passages, 2):
        if d1 == d2 and c1 != c2 and abs(o1 - o2) <= 1:
            near_expected[tuple(sorted((c1, c2)))] += 1
    assert {(p.a, p.b): p.n_ab for p in near.tables[0].pairs if p.n_ab} == dict(near_expected)
    assert near.tables[0].frequencies["h"] == sum(1 for r in rows if "h" in r["codes"])


def test_cluster_equals_scipy_on_the_binary_case_matrix(runner, study_project: Path) -> None:
    used = _case_codes()
    codes = [c for c in CODES if any(c in s for s in used.values())]
    x = np.array([[c in used[case] for c in codes] for case in sorted(used)], dtype=bool)
    expected = linkage(pdist(x.T, "jaccard"), method="average")
    leaves = dendrogram(expected, no_plot=True, labels=codes)["ivl"]
    data = run_json(runner, "-p", study_project, "matrix", "cooccur", "--coder", "consensus", "--cluster")
    assert data["clustering"]["codes"] == codes
    assert [m["distance"] for m in data["clustering"]["merges"]] == pytest.approx(list(expected[:, 2]))
    assert data["clustering"]["leaves"] == leaves
    result = run(runner, "-p", study_project, "matrix", "cooccur", "--coder", "consensus", "--level", "overlap",
                 "--cluster", code=1)
    assert "--cluster needs" in result.output


def test_cooccur_table_and_csv_render(runner, study_project: Path) -> None:
    table = run(runner, "-p", study_project, "matrix", "cooccur", "--coder", "consensus", "--by", "group").stdout
    assert "post-entry: jaccard at the case level (5 units)" in table
    assert "read with care: " in table and " pairs carry a note" in table  # counted on one line
    csv_text = run(runner, "-p", study_project, "matrix", "cooccur", "--coder", "consensus", "--format", "csv").stdout
    assert csv_text.splitlines()[0] == "group,code a,code b,n a,n b,n ab,jaccard,dice,ochiai,note"


# ----------------------------------------------------------------------------- tests

def test_holm_and_bh_equal_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    ps = [0.01, 0.04, 0.03, 0.005, 0.5, 0.2, 0.04]
    assert holm(ps) == pytest.approx(list(multipletests(ps, method="holm")[1]))
    assert benjamini_hochberg(ps) == pytest.approx(list(multipletests(ps, method="fdr_bh")[1]))


def test_odds_ratio_interval_woolf_and_haldane() -> None:
    from statsmodels.stats.contingency_tables import Table2x2

    ratio, low, high, haldane = odds_ratio_ci([[3, 2], [1, 4]])
    reference = Table2x2(np.array([[3, 2], [1, 4]]))
    assert not haldane
    assert ratio == pytest.approx(reference.oddsratio)
    assert (low, high) == pytest.approx(reference.oddsratio_confint(method="normal"))
    # a zero cell: 0.5 added to every cell (by hand: 5.5 * 0.5 / (0.5 * 5.5) ... )
    ratio, low, high, haldane = odds_ratio_ci([[5, 0], [2, 3]])
    assert haldane
    assert ratio == pytest.approx(5.5 * 3.5 / (0.5 * 2.5))
    se = math.sqrt(1 / 5.5 + 1 / 0.5 + 1 / 2.5 + 1 / 3.5)
    assert low == pytest.approx(ratio * math.exp(-1.959964 * se))
    assert high == pytest.approx(ratio * math.exp(1.959964 * se))


def test_cross_test_matches_scipy_and_says_the_sample_is_too_small(runner, study_project: Path) -> None:
    used = _case_codes()
    groups = _groups()
    data = run_json(runner, "-p", study_project, "matrix", "cross", "--by", "group", "--coder", "consensus", "--test")
    assert [g["value"] for g in data["groups"]] == ["entry", "post-entry"]
    rows = {r["code"]: r for r in data["rows"]}
    tested = []
    for code in CODES:
        entry = sum(1 for c in used if groups[c] == "entry" and code in used[c])
        post = sum(1 for c in used if groups[c] == "post-entry" and code in used[c])
        assert rows[code]["present"] == {"entry": entry, "post-entry": post}
        table = [[post, 5 - post], [entry, 5 - entry]]
        assert rows[code]["p"] == pytest.approx(fisher_exact(table).pvalue)
        assert rows[code]["cramers_v"] == pytest.approx(association(table, method="cramer"))
        tested.append(rows[code]["p"])
    # the odds ratio of j: post-entry 3 of 5, entry 1 of 5 -> (3 * 4) / (2 * 1) = 6, no zero cell
    assert rows["j"]["odds_ratio"] == pytest.approx(6.0) and not rows["j"]["haldane"]
    assert rows["g"]["haldane"]  # entry 0 of 5
    from statsmodels.stats.multitest import multipletests
    assert [rows[c]["p_holm"] for c in CODES] == pytest.approx(list(multipletests(tested, method="holm")[1]))
    assert [rows[c]["p_bh"] for c in CODES] == pytest.approx(list(multipletests(tested, method="fdr_bh")[1]))
    # margins 5 / 5 and a code used by 5 firms: the most extreme split 5-0 gives 2 / C(10, 5)
    assert rows["b"]["min_p"] == pytest.approx(2 / 252)
    sentence = data["conclusions"][0]
    assert "10 cases (5 + 5)" in sentence and "too small to conclude" in sentence
    table_out = run(runner, "-p", study_project, "matrix", "cross", "--by", "group", "--coder", "consensus",
                    "--test").stdout
    assert "too small to conclude" in table_out and "Haldane" in table_out


def _exact_freeman_halton(table: list[list[int]]) -> float:
    """Exact Fisher–Freeman–Halton p for a 2 x k table by enumerating the tables with its margins."""
    cols = [a + b for a, b in table]
    top = sum(a for a, _ in table)

    def prob(row: tuple[int, ...]) -> float:
        return math.prod(math.comb(n, k) for n, k in zip(cols, row)) / math.comb(sum(cols), top)

    observed = prob(tuple(a for a, _ in table))
    total = 0.0
    for row in itertools.product(*(range(n + 1) for n in cols)):
        if sum(row) == top and prob(row) <= observed * (1 + 1e-7):
            total += prob(row)
    return total


def test_more_than_two_groups_use_a_monte_carlo_exact_test(study_project: Path) -> None:
    with Project.open(study_project) as project:
        result = project.attribute_tests("continents", "consensus", resamples=20000)
        cases = {c.name: c.attributes["continents"] for c in project.cases()}
    used = _case_codes()
    values = sorted(set(cases.values()))
    assert len(result.groups) == len(values) > 2
    row = next(r for r in result.rows if r.code == "a")
    assert row.test.startswith("Fisher–Freeman–Halton, Monte Carlo")
    table = [[sum(1 for c in cases if cases[c] == v and "a" in used[c]),
              sum(1 for c in cases if cases[c] == v and "a" not in used[c])] for v in values]
    assert row.p == pytest.approx(_exact_freeman_halton(table), abs=0.015)
    assert row.odds_ratio is None and row.cramers_v is not None


# ----------------------------------------------------------------------------- words, search

def test_log_odds_with_dirichlet_prior_by_hand() -> None:
    # y_i = {a: 10}, y_j = {b: 10}, prior = pooled counts (a: 10, b: 10)
    scores = log_odds_dirichlet({"a": 10}, {"b": 10}, {"a": 10.0, "b": 10.0})
    delta = math.log(20 / 10) - math.log(10 / 20)
    assert scores["a"][0] == pytest.approx(delta)
    assert scores["a"][1] == pytest.approx(delta / math.sqrt(1 / 20 + 1 / 10))
    assert scores["b"][0] == pytest.approx(-delta)


def _respondent_text(name: str) -> str:
    """The transcript's turns except the interviewer's, read as plain text."""
    text = (EXAMPLE / "transcripts" / f"{name}.txt").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines()[1:] if not line.startswith("Intervieweur"))


def test_word_counts_match_the_plain_text(runner, study_project: Path) -> None:
    data = run_json(runner, "-p", study_project, "words", "--by", "group", "--top", "400")
    post = {w["term"]: w["count"] for w in data["counts"]["post-entry"]}
    expected = sum(len(re.findall(r"(?<!\w)salons(?!\w)", _respondent_text(f"P{i}").lower())) for i in range(1, 6))
    assert post["salons"] == expected > 0
    assert "le" not in post and "de" not in post  # French stop words left out
    everyone = run_json(runner, "-p", study_project, "words", "--by", "document", "--all-roles", "--top", "2000")
    e1 = {w["term"]: w["count"] for w in everyone["counts"]["E1"]}
    whole = (EXAMPLE / "transcripts" / "E1.txt").read_text(encoding="utf-8").lower()
    assert e1["démonstration"] == len(re.findall(r"(?<!\w)démonstration(?!\w)", whole))
    assert all(w["z"] >= 1.96 for ws in data["distinctive"].values() for w in ws)
    # recompute the top post-entry word from the group totals (Monroe et al. 2008, eq. 16, 20)
    word = data["distinctive"]["post-entry"][0]
    n_i, n_j = data["totals"]["post-entry"], data["totals"]["entry"]
    alpha = 0.1 * (word["count"] + word["rest"])
    a0 = 0.1 * (n_i + n_j)
    delta = (np.log((word["count"] + alpha) / (n_i + a0 - word["count"] - alpha))
             - np.log((word["rest"] + alpha) / (n_j + a0 - word["rest"] - alpha)))
    assert word["log_odds"] == pytest.approx(delta)
    assert word["z"] == pytest.approx(delta / np.sqrt(1 / (word["count"] + alpha) + 1 / (word["rest"] + alpha)))


def test_search_exact_lemma_and_regex(runner, study_project: Path) -> None:
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (EXAMPLE / "transcripts").glob("*.txt")}
    data = run_json(runner, "-p", study_project, "search", "salon", "--by", "group")
    expected = {d: len(re.findall(r"(?<!\w)salon(?!\w)", t, re.I)) for d, t in texts.items()}
    assert data["per_document"] == {d: n for d, n in sorted(expected.items()) if n}
    groups = _groups()
    assert data["per_group"] == {g: sum(n for d, n in expected.items() if groups[d] == g)
                                 for g in sorted(set(groups.values())) if any(
                                     n for d, n in expected.items() if groups[d] == g)}
    hit = data["hits"][0]
    assert hit["match"].lower() == "salon"
    assert texts[hit["document"]][hit["start"]:hit["end"]] == hit["match"]
    lemma = run_json(runner, "-p", study_project, "search", "salon", "--mode", "lemma")
    matches = {h["match"].lower() for h in lemma["hits"]}
    assert {"salon", "salons"} <= matches
    regex = run_json(runner, "-p", study_project, "search", r"linked\s?in", "--mode", "regex")
    assert regex["count"] == sum(len(re.findall(r"linked\s?in", t, re.I)) for t in texts.values()) > 0
    result = run(runner, "-p", study_project, "search", "(unclosed", "--mode", "regex", code=1)
    assert "not valid" in result.output
    kwic = run(runner, "-p", study_project, "search", "salon").stdout
    assert "per document:" in kwic


def test_stop_words_are_spacys_lists() -> None:
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.fr.stop_words import STOP_WORDS as FR

    from qda.analysis import stop_words

    def fold(word: str) -> str:  # typographic apostrophes as the stored tokens have them
        return re.sub("[\u2019\u2018\u02bc]", "'", word.lower())

    assert stop_words(["fr", "en"]) == {fold(w) for w in FR | EN}
    assert stop_words(["fr"]) == {fold(w) for w in FR}
    from spacy.lang.de.stop_words import STOP_WORDS as DE
    assert stop_words(["de"]) == {fold(w) for w in DE}  # every language with a list (issue 19)


def test_search_hits_become_codings_with_the_pattern_and_without_negated_mentions(runner, study_project: Path,
                                                                                  tmp_path: Path) -> None:
    import shutil

    from conftest import snapshot

    copy = tmp_path / "project"
    shutil.copytree(study_project, copy)
    before = snapshot(copy)
    result = run(runner, "-p", copy, "search", "facebook", "--code", "zz", "--coder", "searcher", code=1)
    assert "unknown code 'zz'" in result.output
    assert snapshot(copy) == before
    data = run_json(runner, "-p", copy, "search", "facebook", "--code", "a", "--coder", "searcher")
    hits = {h["segment"] for h in data["search"]["hits"]}
    # read in the transcripts: E1 "pas de Facebook", "ne magasinent pas leur laser sur Facebook",
    # P2 "Pas de Facebook" are negated mentions
    assert data["negated"] == ["E1#38", "E1#39", "P2#39"]
    assert set(data["coded"]) == hits - set(data["negated"])
    with Project.open(copy) as project:
        codings = project.codings("searcher")
    assert {c.segment for c in codings} == set(data["coded"])
    assert {(c.code, c.source, c.pattern) for c in codings} == {("a", "search", "exact: facebook")}
    again = run_json(runner, "-p", copy, "search", "facebook", "--code", "a", "--coder", "searcher")
    assert again["coded"] == [] and set(again["already"]) == set(data["coded"])
    result = run(runner, "-p", copy, "search", "facebook", "--code", "a", code=2)
    assert "--code and --coder" in result.output


@pytest.mark.parametrize("args, call", [
    (("matrix", "cooccur", "--coder", "consensus", "--by", "group", "--level", "near", "--near", "2"),
     lambda p: p.cooccurrence("consensus", level="near", near=2, by="group")),
    (("matrix", "cross", "--by", "group", "--coder", "consensus", "--test"),
     lambda p: p.attribute_tests("group", "consensus")),
    (("words", "--by", "case", "--unit", "lemma"), lambda p: p.words(by="case", unit="lemma")),
    (("search", "démonstration", "--by", "group"), lambda p: p.search("démonstration", by="group")),
    (("retrieve", "--coder", "coder-a", "--by", "group", "--per-code", "1"),
     lambda p: p.quotes("group", 1, coders=["coder-a"])),
])
def test_cli_json_is_the_api_to_dict(runner, study_project: Path, args, call) -> None:
    data = run_json(runner, "-p", study_project, *args)
    with Project.open(study_project) as project:
        expected = json.loads(json.dumps(call(project).to_dict(), ensure_ascii=False))
    assert data == expected
    csv_text = run(runner, "-p", study_project, *args, "--format", "csv").stdout
    assert len(csv_text.splitlines()) > 1


def test_cases_without_the_attribute_are_left_out_of_the_tests(runner, study_project: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "project"
    shutil.copytree(study_project, copy)
    cases = tmp_path / "cases.csv"
    cases.write_text("case,group\nE1,\n", encoding="utf-8")
    run(runner, "-p", copy, "import", "cases", cases)
    data = run_json(runner, "-p", copy, "matrix", "cross", "--by", "group", "--coder", "consensus", "--test")
    assert data["groups"] == [{"value": "entry", "n": 4}, {"value": "post-entry", "n": 5}]
    assert "left out: E1" in data["conventions"][-1]
    used = _case_codes()
    row = next(r for r in data["rows"] if r["code"] == "b")
    entry = sum(1 for c in ("E2", "E3", "E4", "E5") if "b" in used[c])
    post = sum(1 for c in ("P1", "P2", "P3", "P4", "P5") if "b" in used[c])
    assert row["p"] == pytest.approx(fisher_exact([[post, 5 - post], [entry, 4 - entry]]).pvalue)
