"""The speedups of issue 18 item 6 (third round: `qda report` and `qda figure`) change no output.

Each fast path is held against the straightforward one it replaced, on the example study
(three coders from sheets, and auto-coding's coder; some codings negated, orphaned or of
zero length, states that count differently):
counts per case and code from the store (``Store.coding_tallies``) against counts from
every coding, and the report's quotes read from the few cases a quote can come from
against quotes chosen among every coding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qda import analysis, matrix
from qda.models import CooccurrenceLevel, CountMode
from qda.project import Project

from conftest import study_with_uncounted_codings

CODERS = ("coder-a", "coder-b", "consensus", "auto")


@pytest.fixture(scope="module")
def study_auto(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example study with auto-coding's codings as well, and codings no command makes
    in this study: negated and orphaned ones (they do not count) and a span of zero
    characters (counted as a use, never shown as a quote)."""
    folder = tmp_path_factory.mktemp("speed3") / "study"
    return study_with_uncounted_codings(study_project, folder, CODERS)


@pytest.mark.parametrize("coder", CODERS)
def test_counts_from_the_store_equal_counts_from_every_coding(study_auto: Path, coder: str) -> None:
    with Project.open(study_auto) as project:
        codebook, cases, codings = project.codebook(), project.cases(), project.codings(coder)
        usage, spans, documents = project._tallies(coder)
        assert {coder: (len(documents), len(project._store.documents()))} == project.coverage([coder])
    assert usage == matrix._usage(codings)  # (case, code) -> distinct passages
    expected_spans: dict[tuple[str, str], set[tuple[str, int, int]]] = {}
    for c in codings:
        if c.end > c.start:
            expected_spans.setdefault((c.case, c.code), set()).add((c.document, c.start, c.end))
    assert spans == {key: len(found) for key, found in expected_spans.items()}
    for count in CountMode:
        assert (matrix.cross_case(codebook, cases, [], by="group", coder=coder, count=count, usage=usage).to_dict()
                == matrix.cross_case(codebook, cases, codings, by="group", coder=coder, count=count).to_dict())
        assert (matrix.split(codebook, cases, [], code_attr="mode", by="group", coder=coder, count=count,
                             usage=usage).to_dict()
                == matrix.split(codebook, cases, codings, code_attr="mode", by="group", coder=coder,
                                count=count).to_dict())
    assert (matrix.meta_matrix(codebook, cases, [], by="group", coder=coder, usage=usage).to_dict()
            == matrix.meta_matrix(codebook, cases, codings, by="group", coder=coder).to_dict())
    assert (analysis.cooccurrence(codebook, cases, [], codings=[], coder=coder, level=CooccurrenceLevel.CASE,
                                  by="group", usage=usage).to_dict()
            == analysis.cooccurrence(codebook, cases, [], codings=codings, coder=coder, level=CooccurrenceLevel.CASE,
                                     by="group").to_dict())
    assert (analysis.attribute_tests(codebook, cases, [], by="group", coder=coder, usage=usage).to_dict()
            == analysis.attribute_tests(codebook, cases, codings, by="group", coder=coder).to_dict())


def test_counts_are_refused_where_the_codings_themselves_are_needed(study_auto: Path) -> None:
    with Project.open(study_auto) as project:
        codebook, cases = project.codebook(), project.cases()
        usage = project._tallies("consensus")[0]
    with pytest.raises(analysis.AnalysisError, match="needs the codings"):
        analysis.cooccurrence(codebook, cases, [], codings=[], coder="consensus",
                              level=CooccurrenceLevel.DOCUMENT, usage=usage)


@pytest.mark.parametrize("coder", CODERS)
@pytest.mark.parametrize("per_code", [1, 2, 5])
def test_the_reports_quotes_equal_quotes_chosen_among_every_coding(study_auto: Path, coder: str,
                                                                   per_code: int) -> None:
    with Project.open(study_auto) as project:
        codebook, cases = project.codebook(), project.cases()
        segments = project._store.segments(text=False)
        expected = project._quotes(codebook, cases, project.codings(coder), "group", per_code, segments,
                                   coders=[coder])
        got = project._report_quotes(codebook, cases, coder, "group", per_code, project._tallies(coder)[1], segments)
    assert expected.cells  # something to compare
    assert got.to_dict() == expected.to_dict()
    assert got == expected


def test_an_unknown_coder_is_named_as_before(study_auto: Path, tmp_path: Path) -> None:
    with Project.open(study_auto) as project, pytest.raises(analysis.NotFoundError, match="unknown coder 'nobody'"):
        project.figure("meta", tmp_path / "meta.svg", "nobody", by="group")


@pytest.mark.parametrize("roles", [("respondent",), ("interviewer",), ("respondent", "interviewer")])
@pytest.mark.parametrize("by", ["document", "group"])
def test_words_counted_where_the_roles_talk_equal_words_counted_through_every_segment(
        study_auto: Path, roles: tuple[str, ...], by: str) -> None:
    with Project.open(study_auto) as project:
        tokens, cases = project._document_tokens(), project.cases()
        expected = analysis.word_counts(tokens, cases, project._store.segments(text=False), by=by,
                                        unit=analysis.WordUnit.LEMMA, roles=roles)
        got = analysis.word_counts(tokens, cases, [], by=by, unit=analysis.WordUnit.LEMMA, roles=roles,
                                   role_spans=project._store.role_spans)
    assert sum(expected.totals.values()) > 0
    assert got.to_dict() == expected.to_dict()


def test_fisher_exact_equals_scipy_on_random_and_tied_tables() -> None:
    """Fisher's exact test without scipy.stats (0.3 s to import) gives scipy's p-values."""
    import random

    from scipy.stats import fisher_exact

    rng = random.Random(18)
    tables = [[[rng.randint(0, n), 0], [rng.randint(0, n), 0]] for n in (3, 8, 20, 60, 400) for _ in range(60)]
    for t in tables:
        t[0][1], t[1][1] = rng.randint(0, 30), rng.randint(0, 30)
    tables += [[[5, 5], [5, 5]], [[3, 7], [7, 3]], [[0, 10], [10, 0]], [[1, 0], [0, 1]], [[0, 0], [4, 6]],
               [[310, 28], [301, 25]], [[2, 3], [3, 2]], [[500, 500], [480, 520]]]  # ties, empty rows, large
    for t in tables:
        assert analysis.fisher_exact_2x2(t) == pytest.approx(float(fisher_exact(t).pvalue), rel=1e-9, abs=1e-12), t


def test_two_group_tests_do_not_import_scipy(study_auto: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from qda.project import Project; p = Project.open(sys.argv[1]); "
            "p.attribute_tests('group', 'consensus'); print(any(m.startswith('scipy.stats') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(study_auto)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("coder", "agreement"), [("consensus", ()), ("auto", ("coder-a", "coder-b"))])
def test_the_report_equals_the_report_built_from_every_coding_and_segment(study_auto: Path, tmp_path: Path,
                                                                          coder: str,
                                                                          agreement: tuple[str, ...]) -> None:
    """The whole report, against its sections computed the way they were before the store
    counted (every coding and every segment read and built)."""
    from dataclasses import replace

    from qda.export.synthesis import ReportData, render_synthesis
    from qda.models import WordUnit

    by, per_code = "group", 2
    with Project.open(study_auto) as project:
        path = project.synthesis_report(tmp_path / "report.html", coder, by, agreement=list(agreement) or None)
        codebook, cases, codings = project.codebook(), project.cases(), project.codings(coder)
        cooccur = analysis.cooccurrence(codebook, cases, [], codings=codings, coder=coder,
                                        level=CooccurrenceLevel.CASE, by=by)
        cooccur = replace(cooccur, clustering=analysis.cluster_codes(cooccur.tables[0]))
        segments = project._store.segments(text=False)
        sizes = project._store.sizes()
        lang = codebook.default_language
        data = ReportData(
            title=f"Synthesis: {codebook.name}", project=study_auto.resolve().name, codebook=codebook, cases=cases,
            documents=sizes["documents"], segments=sizes["segments"], coder=coder, by=by, lang=lang,
            cross=matrix.cross_case(codebook, cases, codings, by=by, coder=coder, count=CountMode.CASES, lang=lang),
            meta=matrix.meta_matrix(codebook, cases, codings, by=by, coder=coder),
            split=matrix.split(codebook, cases, codings, code_attr="mode", by=by, coder=coder),
            cooccur=cooccur, tests=analysis.attribute_tests(codebook, cases, codings, by=by, coder=coder, lang=lang),
            quotes=project._quotes(codebook, cases, codings, by, per_code, segments, coders=[coder]),
            words=analysis.word_counts(project._document_tokens(), cases, segments, by=by, unit=WordUnit.LEMMA),
            reliability=project.agree(list(agreement), bootstrap=0) if agreement else None,
            coverage=project.coverage([coder, *agreement]),
            provenance=project.suggest_provenance([coder, *agreement]).sentences())
        expected = render_synthesis(data)
    assert "Illustrative quotes" in expected and "<svg" in expected
    assert path.read_text(encoding="utf-8") == expected


def _exact_ffh(sizes: list[int], present: list[int]) -> float:
    """The exact Fisher–Freeman–Halton p-value of a groups x (present, absent) table, every
    table with the margins enumerated (small tables only): the oracle of the Monte Carlo."""
    from itertools import product
    from math import comb

    used = sum(present)

    def ways(x: tuple[int, ...]) -> int:  # tables of this column: prod C(n_i, x_i)
        result = 1
        for n, k in zip(sizes, x):
            result *= comb(n, k)
        return result

    tables = [x for x in product(*(range(n + 1) for n in sizes)) if sum(x) == used]
    observed = ways(tuple(present))
    return sum(ways(x) for x in tables if ways(x) <= observed) / comb(sum(sizes), used)


@pytest.mark.parametrize(("sizes", "present"), [([5, 6, 7], [1, 4, 6]), ([4, 4, 4], [0, 2, 4]),
                                                ([3, 5, 2, 6], [3, 1, 0, 4]), ([10, 10, 10], [5, 5, 5]),
                                                ([8, 3, 9], [8, 0, 1])])
def test_the_monte_carlo_test_of_three_groups_or_more_agrees_with_exact_enumeration_and_scipy(
        sizes: list[int], present: list[int]) -> None:
    import numpy as np
    from scipy.stats import MonteCarloMethod, fisher_exact

    exact = _exact_ffh(sizes, present)
    many = analysis.presence_test_monte_carlo(sizes, present, resamples=200_000, seed=7)
    assert many == pytest.approx(exact, abs=0.005)  # 4 standard errors at 200,000 tables
    table = np.array([[p, n - p] for p, n in zip(present, sizes)])
    scipy_p = float(fisher_exact(table, method=MonteCarloMethod(n_resamples=9999,
                                                                 rng=np.random.default_rng(12345))).pvalue)
    ours = analysis.presence_test_monte_carlo(sizes, present, resamples=9999, seed=12345)
    assert ours == pytest.approx(scipy_p, abs=0.02)  # two Monte Carlo estimates of 9,999 tables
    assert ours == analysis.presence_test_monte_carlo(sizes, present, resamples=9999, seed=12345)  # seeded


def test_tests_of_three_groups_do_not_import_scipy_and_refuse_no_resamples(study_auto: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from qda.project import Project; p = Project.open(sys.argv[1]); "
            "p.attribute_tests('employees', 'consensus'); print(any(m.startswith('scipy') for m in sys.modules))")
    with Project.open(study_auto) as project:
        groups = {c.attributes.get("employees") for c in project.cases()}
        assert len(groups) >= 3, groups
        with pytest.raises(analysis.AnalysisError, match="--resamples must be 1 or more"):
            project.attribute_tests("employees", "consensus", resamples=0)
    out = subprocess.run([sys.executable, "-c", code, str(study_auto)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "False"


def _random_distances(rng: Any, n: int, levels: int | None) -> Any:
    import numpy as np

    values = rng.random((n, n)) if levels is None else rng.integers(0, levels, (n, n)) / levels
    distance = np.triu(values, 1)
    return distance + distance.T


@pytest.mark.parametrize("levels", [None, 2, 3, 5])  # None: no ties; few levels: many ties
def test_average_linkage_and_leaf_order_equal_scipys(levels: int | None) -> None:
    import numpy as np
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    rng = np.random.default_rng(18 + (levels or 0))
    for n in (2, 3, 4, 7, 12, 25, 40):
        for _ in range(15):
            distance = _random_distances(rng, n, levels)
            expected = linkage(squareform(distance, checks=False), method="average")
            got = analysis.average_linkage(distance)
            assert np.array_equal(np.array(got), expected), (n, distance)
            assert analysis.leaf_order(got, n) == [int(i) for i in dendrogram(expected, no_plot=True)["leaves"]]


@pytest.mark.parametrize("labels", [False, True])
@pytest.mark.parametrize("size", ["single", "double"])
def test_the_dendrogram_is_the_svg_scipy_draws(study_auto: Path, labels: bool, size: str) -> None:
    import io

    import numpy as np
    from scipy.cluster.hierarchy import dendrogram as draw

    from qda.export import figures, typography

    with Project.open(study_auto) as project:
        codebook = project.codebook()
        clustering = project.cooccurrence("consensus", cluster=True).clustering
    assert clustering is not None
    names = {c.id: c.label("fr") for c in codebook.codes} if labels else None
    ours = figures.svg_text(figures.dendrogram(clustering, size, names))
    # the figure as it was drawn with scipy (qda 18 item 6, second round)
    lines = (sum(figures._names([c], names)[0].count("\n") + 1 for c in clustering.codes) if names
             else len(clustering.codes))
    fig, ax = figures._figure(size, max(2.2, 0.16 * max(lines, len(clustering.codes)) + 0.8))
    tree = draw(np.array(clustering.linkage), labels=figures._names(clustering.codes, names), orientation="right",
                ax=ax, color_threshold=0, above_threshold_color="black", leaf_font_size=typography.FIGURE_SMALL)
    leaves = 5 + 10 * np.arange(len(tree["ivl"]))
    ax.hlines(leaves, -0.03, 0, color="black", linewidth=figures._pyplot().rcParams["lines.linewidth"])
    ax.set_xlabel("Jaccard distance (1 − J), average linkage")
    ax.set_xlim(-0.03, 1.02)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.spines["bottom"].set_bounds(0, 1)
    ax.tick_params(axis="y", length=0)
    expected = io.StringIO()
    fig.savefig(expected, format="svg", metadata={"Date": None})
    figures._pyplot().close(fig)
    assert ours == expected.getvalue()[expected.getvalue().index("<svg"):]


def test_a_report_of_three_groups_imports_neither_scipy_nor_pandas(study_auto: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from qda.project import Project; p = Project.open(sys.argv[1]); "
            "p.synthesis_report(sys.argv[2], 'consensus', 'employees'); "
            "print(sorted(m for m in sys.modules if m.startswith(('scipy', 'pandas'))))")
    out = subprocess.run([sys.executable, "-c", code, str(study_auto), str(tmp_path / "r.html")], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"
    assert "Average-linkage clustering of the codes" in (tmp_path / "r.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["cooccur", "dendrogram"])
def test_cooccurrence_figures_from_counts_equal_those_from_every_coding(study_auto: Path, tmp_path: Path,
                                                                         kind: str) -> None:
    from qda.export import figures

    with Project.open(study_auto) as project:
        project.figure(kind, tmp_path / "fast.svg", "consensus", by="group")
        result = project.cooccurrence("consensus", by="group", cluster=kind == "dendrogram")  # every coding read
    fig = (figures.dendrogram(result.clustering, "double") if kind == "dendrogram"
           else figures.cooccurrence_heatmap(result, size="double"))
    figures.save(fig, tmp_path / "slow.svg")
    assert (tmp_path / "fast.svg").read_bytes() == (tmp_path / "slow.svg").read_bytes()
