"""Tests of the inter-coder agreement engine (qda.agreement.coefficients).

Three kinds of evidence:

* published worked examples (Krippendorff 2011, Gwet's handbook, Fleiss 1971,
  textbook 2x2 kappa tables) with the numbers printed in those sources;
* property tests on random tables against independent implementations
  (``krippendorff``, scikit-learn, statsmodels, and ``irrCAC`` when installed)
  and against plain-Python reference formulas, to 1e-9;
* degenerate inputs, structural errors and the bootstrap.
"""

from __future__ import annotations

import math
import os
import warnings
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qda.agreement.coefficients import (
    COEFFICIENTS,
    Estimate,
    compute,
    encode,
    kappa_paradox,
    prevalence_bias,
)
from qda.errors import AgreementError

krippendorff = pytest.importorskip("krippendorff")
sklearn_metrics = pytest.importorskip("sklearn.metrics")
inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")

try:  # third implementation (Gwet's own package, ported to Python); `make` installs it
    from irrCAC.raw import CAC
except Exception:  # pragma: no cover - depends on the environment
    CAC = None
    # In CI the cross-check must run, never skip: a missing package is a failure there.
    if os.environ.get("CI"):
        raise

TOL = 1e-9
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def values(result: dict[str, Estimate]) -> dict[str, float | None]:
    return {name: est.value for name, est in result.items()}


def from_table(cells: list[list[int]]) -> np.ndarray:
    """Two-coder ratings from a contingency table (rows coder 1, columns coder 2)."""
    rows = []
    for i, row in enumerate(cells):
        for j, count in enumerate(row):
            rows.extend([(i, j)] * count)
    return np.array(rows, dtype=np.int64)


# --------------------------------------------------------------------------- #
# Published worked examples
# --------------------------------------------------------------------------- #

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability, example C:
# 4 observers x 12 units, values 1..5, "." = missing. alpha nominal = 0.743.
KRIPPENDORFF_2011 = [
    # unit: 1  2  3  4  5  6  7  8  9  10 11 12
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],  # observer A
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],  # observer B
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],  # observer C
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],  # observer D
]


KRIPPENDORFF_RATINGS = [
    [-1 if v is None else v for v in unit] for unit in zip(*KRIPPENDORFF_2011)
]


def krippendorff_2011_table() -> pd.DataFrame:
    return pd.DataFrame(
        {name: col for name, col in zip("ABCD", KRIPPENDORFF_2011)},
        index=range(1, 13),
    )


def test_krippendorff_2011_alpha_nominal_is_0743() -> None:
    ratings, labels = encode(krippendorff_2011_table())
    assert labels == ["1", "2", "3", "4", "5"]
    result = compute(ratings, bootstrap=0)
    alpha = result["krippendorff_alpha"].value
    assert alpha is not None
    assert round(alpha, 3) == 0.743
    # Krippendorff's hand computation: n = 40 pairable values, observed
    # disagreement 10/40 ... alpha = 1 - 39 * 10 / sum_{c != k} n_c n_k.
    data = np.array(KRIPPENDORFF_2011, dtype=float)
    assert alpha == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=TOL
    )


def test_gwet_handbook_ac1_on_krippendorff_data() -> None:
    # Gwet, Handbook of Inter-Rater Reliability (4th ed., 2014), the same 4 raters x
    # 12 units with missing ratings: AC1 = 0.77544 (pa = 0.81818, pe = 0.19032),
    # Brennan-Prediger = 0.77273 (pa = 0.81818, pe = 1/5).
    ratings, _ = encode(krippendorff_2011_table())
    result = compute(ratings, bootstrap=0)
    assert round(result["gwet_ac1"].value, 5) == 0.77544
    assert round(result["percent_agreement"].value, 5) == 0.81818
    pa = result["percent_agreement"].value
    pe = (pa - result["gwet_ac1"].value) / (1 - result["gwet_ac1"].value)
    assert round(pe, 5) == 0.19032
    assert round(result["brennan_prediger"].value, 5) == 0.77273
    # Cohen/Scott are two-coder statistics.
    assert result["cohen_kappa"].value is None
    assert result["cohen_kappa"].note == (
        "Cohen's kappa is defined for two coders; see Fleiss' kappa"
    )
    # Fleiss' kappa uses the raters present in each unit (Gwet 2014): irrCAC's
    # fleiss.kappa.raw on this data prints pa = 0.8181818, pe = 0.2387153,
    # kappa = 0.76117 (the listwise value on units 2-9 would differ).
    fleiss = result["fleiss_kappa"]
    assert round(fleiss.value, 5) == 0.76117
    assert round((pa - fleiss.value) / (1 - fleiss.value), 7) == 0.2387153
    assert fleiss.value == pytest.approx(ref_fleiss_gwet(KRIPPENDORFF_RATINGS), abs=TOL)
    assert "Gwet (2014)" in fleiss.note


# Wikipedia, "Krippendorff's alpha", the 3-coder x 15-unit example with missing
# values ("*"); published nominal alpha = 0.691.
WIKIPEDIA_ALPHA = [
    [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],  # coder A
    [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],  # coder B
    [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],  # coder C
]


def test_fleiss_with_missing_ratings_on_wikipedia_alpha_example() -> None:
    # The issue reported 0.250 (listwise: only units 3-7 kept) against the
    # published 0.686. The hand formula (plain Python, below) gives 0.686 too.
    rows = [[-1 if v is None else v for v in unit] for unit in zip(*WIKIPEDIA_ALPHA)]
    assert round(ref_fleiss_gwet(rows), 3) == 0.686
    ratings, _ = encode(pd.DataFrame({c: col for c, col in zip("ABC", WIKIPEDIA_ALPHA)}))
    result = compute(ratings, bootstrap=0)
    assert round(result["krippendorff_alpha"].value, 3) == 0.691  # the page's value
    assert round(result["fleiss_kappa"].value, 3) == 0.686
    assert result["fleiss_kappa"].value == pytest.approx(ref_fleiss_gwet(rows), abs=TOL)
    assert "12 units rated by at least two coders" in result["fleiss_kappa"].note
    assert "13 rated units" in result["fleiss_kappa"].note


def test_fleiss_defined_when_no_unit_is_complete() -> None:
    # Every unit misses one of 5 raters: listwise Fleiss had no value at all.
    rng = np.random.default_rng(3)
    arr = rng.choice(3, size=(30, 5), p=[0.5, 0.3, 0.2])
    arr[np.arange(30), np.arange(30) % 5] = -1
    result = compute(arr, bootstrap=0)
    assert result["fleiss_kappa"].value == pytest.approx(ref_fleiss_gwet(arr.tolist()), abs=TOL)


def test_fleiss_1971_example_is_0430() -> None:
    # Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses; kappa = .430.
    from statsmodels.stats.tests.test_inter_rater import diagnoses

    result = compute(np.asarray(diagnoses) - 1, bootstrap=0)
    kappa = result["fleiss_kappa"].value
    assert round(kappa, 3) == 0.430
    table, _ = inter_rater.aggregate_raters(diagnoses)
    assert kappa == pytest.approx(inter_rater.fleiss_kappa(table), abs=TOL)


def test_fleiss_wikipedia_example_is_0210() -> None:
    # Fleiss' kappa worked example (10 subjects, 14 raters, 5 categories; the
    # statsmodels test table): kappa = 0.210. Counts -> raw ratings: rater
    # identity does not matter for Fleiss' kappa.
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    ratings = np.array([np.repeat(np.arange(5), row) for row in counts])
    assert ratings.shape == (10, 14)
    assert round(compute(ratings, bootstrap=0)["fleiss_kappa"].value, 3) == 0.210


def test_textbook_two_by_two_kappa_pi_ac1() -> None:
    # The standard 2x2 teaching example (50 grant proposals, two readers):
    # yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> po = .70, pe = .50, kappa = .40.
    ratings = from_table([[20, 5], [10, 15]])
    result = compute(ratings, bootstrap=0)
    assert result["percent_agreement"].value == pytest.approx(0.70, abs=TOL)
    assert result["cohen_kappa"].value == pytest.approx(0.40, abs=TOL)
    # Scott's pi by hand: pooled p(yes) = (25 + 30) / 100 = .55,
    # pe = .55^2 + .45^2 = .505, pi = (.70 - .505) / (1 - .505).
    assert result["scott_pi"].value == pytest.approx((0.70 - 0.505) / 0.495, abs=TOL)
    # Gwet's AC1 by hand (2 raters, q = 2): pe = 2 * .55 * .45 / (q - 1) = .495,
    # AC1 = (.70 - .495) / (1 - .495).
    assert result["gwet_ac1"].value == pytest.approx((0.70 - 0.495) / 0.505, abs=TOL)
    # Brennan-Prediger = PABAK = 2 po - 1 for two categories.
    assert result["brennan_prediger"].value == pytest.approx(0.40, abs=TOL)
    # Holsti without missing data = percent agreement.
    assert result["holsti"].value == pytest.approx(0.70, abs=TOL)
    # Fleiss' kappa with two coders is Scott's pi.
    assert result["fleiss_kappa"].value == pytest.approx(result["scott_pi"].value, abs=TOL)
    assert "equals Scott's pi" in result["fleiss_kappa"].note


def test_feinstein_cicchetti_paradox_tables() -> None:
    # Feinstein & Cicchetti (1990): same po = .85, very different kappa.
    balanced = compute(from_table([[40, 9], [6, 45]]), bootstrap=0)
    skewed = compute(from_table([[80, 10], [5, 5]]), bootstrap=0)
    assert balanced["percent_agreement"].value == pytest.approx(0.85)
    assert skewed["percent_agreement"].value == pytest.approx(0.85)
    assert round(balanced["cohen_kappa"].value, 2) == 0.70
    assert round(skewed["cohen_kappa"].value, 2) == 0.32
    assert kappa_paradox(balanced) is None
    warning = kappa_paradox(skewed, ratings=from_table([[80, 10], [5, 5]]), labels=["present", "absent"])
    assert warning is not None
    assert "kappa paradox" in warning
    assert "'present' is 88% of all ratings" in warning
    assert "AC1" in warning and "Brennan–Prediger" in warning
    # Byrt, Bishop & Carlin (1993): PI = (a - d)/N, BI = (b - c)/N, with code 1 =
    # "present": here a (both 1) = 5, d (both 0) = 80, b = 5, c = 10.
    pi_idx, bi_idx = prevalence_bias(from_table([[80, 10], [5, 5]]))
    assert pi_idx == pytest.approx((5 - 80) / 100)
    assert bi_idx == pytest.approx((5 - 10) / 100)
    assert "prevalence index -0.75" in warning


# --------------------------------------------------------------------------- #
# Plain-Python reference formulas (independent of the vectorised engine)
# --------------------------------------------------------------------------- #


def ref_percent_agreement(rows: list[list[int]]) -> float | None:
    shares = []
    for row in rows:
        rated = [r for r in row if r >= 0]
        if len(rated) < 2:
            continue
        pairs = list(combinations(rated, 2))
        shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return sum(shares) / len(shares) if len(shares) >= 2 else None


def ref_fleiss_gwet(rows: list[list[int]]) -> float | None:
    """Fleiss' kappa with the raters present in each unit (Gwet 2014, irrCAC)."""
    pa = ref_percent_agreement(rows)
    rated = [[r for r in row if r >= 0] for row in rows]
    rated = [r for r in rated if r]
    cats = {c for r in rated for c in r}
    pe = sum((sum(r.count(c) / len(r) for r in rated) / len(rated)) ** 2 for c in cats)
    if pa is None or pe == 1:
        return None
    return (pa - pe) / (1 - pe)


def ref_holsti(rows: list[list[int]]) -> float | None:
    m = len(rows[0])
    per_pair = []
    for i, j in combinations(range(m), 2):
        n_i = sum(row[i] >= 0 for row in rows)
        n_j = sum(row[j] >= 0 for row in rows)
        if n_i == 0 or n_j == 0:
            continue
        agree = sum(row[i] >= 0 and row[i] == row[j] for row in rows)
        per_pair.append(2 * agree / (n_i + n_j))
    return sum(per_pair) / len(per_pair) if per_pair else None


def ref_scott_pi(rows: list[list[int]]) -> float | None:
    both = [(a, b) for a, b in rows if a >= 0 and b >= 0]
    n = len(both)
    if n < 2:
        return None
    po = sum(a == b for a, b in both) / n
    cats = {a for a, _ in both} | {b for _, b in both}
    pe = sum(((sum(a == c for a, _ in both) + sum(b == c for _, b in both)) / (2 * n)) ** 2
             for c in cats)
    return None if pe == 1 else (po - pe) / (1 - pe)


@st.composite
def rating_tables(draw, min_coders: int = 2, max_coders: int = 5, missing: bool = True):
    m = draw(st.integers(min_coders, max_coders))
    n = draw(st.integers(1, 40))
    k = draw(st.integers(1, 4))
    p_missing = draw(st.sampled_from([0.0, 0.1, 0.4])) if missing else 0.0
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Skewed category probabilities, so rare codes and pe close to 1 occur.
    probs = rng.dirichlet(np.full(k, 0.7))
    arr = rng.choice(k, size=(n, m), p=probs)
    arr[rng.random((n, m)) < p_missing] = -1
    return arr.astype(np.int64)


def all_values_clean(result: dict[str, Estimate]) -> None:
    assert tuple(result) == COEFFICIENTS
    for name, est in result.items():
        for field in (est.value, est.ci_low, est.ci_high):
            assert field is None or (isinstance(field, float) and math.isfinite(field)), name
        if est.value is None:
            assert est.note, name


# --------------------------------------------------------------------------- #
# Property tests against independent implementations
# --------------------------------------------------------------------------- #


@PROPERTY
@given(rating_tables())
def test_alpha_matches_krippendorff_package(arr: np.ndarray) -> None:
    result = compute(arr, bootstrap=0)
    all_values_clean(result)
    alpha = result["krippendorff_alpha"].value
    data = np.where(arr < 0, np.nan, arr.astype(float)).T  # coders x units
    pairable = int(((arr >= 0).sum(axis=1) >= 2).sum())
    if alpha is None:
        # Undefined only when there are fewer than 2 pairable units or one
        # category among the pairable values (where the package raises).
        observed = np.unique(arr[(arr >= 0).sum(axis=1) >= 2])
        observed = observed[observed >= 0]
        assert pairable < 2 or observed.size < 2
        return
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert alpha == pytest.approx(expected, abs=TOL)


@PROPERTY
@given(rating_tables(max_coders=2))
def test_cohen_kappa_matches_sklearn(arr: np.ndarray) -> None:
    result = compute(arr, bootstrap=0)
    all_values_clean(result)
    both = (arr >= 0).all(axis=1)
    kappa = result["cohen_kappa"].value
    if kappa is None:
        assert both.sum() < 2 or np.unique(arr[both]).size == 1
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = sklearn_metrics.cohen_kappa_score(arr[both, 0], arr[both, 1])
    assert kappa == pytest.approx(expected, abs=TOL)
    assert result["scott_pi"].value == pytest.approx(ref_scott_pi(arr.tolist()), abs=TOL)


@PROPERTY
@given(rating_tables(max_coders=6))
def test_fleiss_kappa_matches_statsmodels(arr: np.ndarray) -> None:
    result = compute(arr, bootstrap=0)
    kappa = result["fleiss_kappa"].value
    expected = ref_fleiss_gwet(arr.tolist())
    if kappa is None:
        assert expected is None
        return
    assert kappa == pytest.approx(expected, abs=TOL)
    if (arr >= 0).all():
        # Without missing ratings it is Fleiss (1971) as statsmodels computes it.
        table, _ = inter_rater.aggregate_raters(arr)
        assert kappa == pytest.approx(inter_rater.fleiss_kappa(table, method="fleiss"), abs=TOL)
        if arr.shape[1] == 2:
            assert kappa == pytest.approx(result["scott_pi"].value, abs=TOL)


@PROPERTY
@given(rating_tables(max_coders=5))
def test_percent_agreement_and_holsti_match_reference(arr: np.ndarray) -> None:
    result = compute(arr, bootstrap=0)
    rows = arr.tolist()
    expected_pa = ref_percent_agreement(rows)
    assert result["percent_agreement"].value == pytest.approx(expected_pa, abs=TOL)
    if expected_pa is None:
        assert result["holsti"].value is None
    else:
        assert result["holsti"].value == pytest.approx(ref_holsti(rows), abs=TOL)


@pytest.mark.skipif(CAC is None, reason="irrCAC is not installed (make installs it)")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rating_tables(max_coders=4), st.integers(0, 2))
def test_ac1_bp_alpha_match_irrcac(arr: np.ndarray, extra_categories: int) -> None:
    k = int(arr.max()) + 1
    q = max(k, 2) + extra_categories
    result = compute(arr, n_categories=q, bootstrap=0)
    if result["percent_agreement"].value is None:
        assert result["gwet_ac1"].value is None
        return
    frame = pd.DataFrame(np.where(arr < 0, np.nan, arr.astype(float)))

    def reference(cac: Any, method: str) -> float | None:
        # irrCAC divides by zero where a coefficient is undefined (expected agreement 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return float(getattr(cac, method)()["est"]["coefficient_value"])
            except ZeroDivisionError:
                return None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cac = CAC(frame, categories=[float(c) for c in range(q)], digits=15)
        plain = CAC(frame, digits=15)
    fleiss = reference(cac, "fleiss")
    if fleiss is None:
        assert result["fleiss_kappa"].value is None
    elif result["fleiss_kappa"].value is not None:
        assert result["fleiss_kappa"].value == pytest.approx(fleiss, abs=TOL)
    assert result["gwet_ac1"].value == pytest.approx(reference(cac, "gwet"), abs=TOL)
    assert result["brennan_prediger"].value == pytest.approx(reference(cac, "bp"), abs=TOL)
    if result["krippendorff_alpha"].value is not None:
        alpha = reference(plain, "krippendorff")
        assert result["krippendorff_alpha"].value == pytest.approx(alpha, abs=TOL)


def test_ac1_two_coders_reduces_to_classic_formula() -> None:
    rng = np.random.default_rng(7)
    arr = rng.choice(3, size=(500, 2), p=[0.7, 0.2, 0.1])
    result = compute(arr, bootstrap=0)
    po = np.mean(arr[:, 0] == arr[:, 1])
    pi = np.array([(np.mean(arr[:, 0] == c) + np.mean(arr[:, 1] == c)) / 2 for c in range(3)])
    pe = float(np.sum(pi * (1 - pi)) / (3 - 1))
    assert result["gwet_ac1"].value == pytest.approx((po - pe) / (1 - pe), abs=TOL)


def test_declared_categories_change_bp_and_ac1_only() -> None:
    arr = from_table([[20, 5], [10, 15]])
    observed = compute(arr, bootstrap=0)
    declared = compute(arr, n_categories=4, bootstrap=0)
    assert declared["brennan_prediger"].value == pytest.approx((0.7 - 0.25) / 0.75)
    assert declared["gwet_ac1"].value != observed["gwet_ac1"].value
    assert "declared" in declared["gwet_ac1"].note
    for name in ("percent_agreement", "cohen_kappa", "scott_pi", "krippendorff_alpha",
                 "fleiss_kappa", "holsti"):
        assert declared[name].value == observed[name].value


# --------------------------------------------------------------------------- #
# encode
# --------------------------------------------------------------------------- #


def test_encode_missing_markers_and_label_normalisation() -> None:
    table = pd.DataFrame(
        {
            "ana": ["yes", "no ", None, "", np.nan, "yes"],
            "ben": ["yes", "no", "no", "maybe", pd.NA, "  "],
        }
    )
    ratings, labels = encode(table)
    assert labels == ["maybe", "no", "yes"]
    assert ratings.tolist() == [[2, 2], [1, 1], [-1, 1], [-1, 0], [-1, -1], [2, -1]]
    assert ratings.dtype == np.int64


def test_encode_numeric_labels_sort_numerically_and_merge_float_int() -> None:
    table = pd.DataFrame({"a": [1.0, 10.0, np.nan, 2.0], "b": [1, 10, 2, "2"]})
    ratings, labels = encode(table)
    assert labels == ["1", "2", "10"]
    assert ratings.tolist() == [[0, 0], [2, 2], [-1, 1], [1, 1]]


def test_encode_rejects_non_tables() -> None:
    with pytest.raises(AgreementError):
        encode(np.zeros((3, 2)))  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(rating_tables())
def test_encode_round_trip(arr: np.ndarray) -> None:
    names = np.array(["code-a", "code-b", "code-c", "code-d"], dtype=object)
    frame = pd.DataFrame(np.where(arr < 0, None, names[np.maximum(arr, 0)]), dtype=object)
    ratings, labels = encode(frame)
    lookup = np.array(labels + [None], dtype=object)  # -1 -> None
    decoded = lookup[ratings]
    assert (decoded == frame.to_numpy()).all()
    # Coefficients do not depend on which codes were used.
    a, b = compute(arr, bootstrap=0), compute(ratings, bootstrap=0)
    for name in COEFFICIENTS:
        if a[name].value is None:
            assert b[name].value is None
        else:
            assert b[name].value == pytest.approx(a[name].value, abs=TOL)


# --------------------------------------------------------------------------- #
# Degenerate and invalid inputs
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "arr, undefined",
    [
        # one category only: chance agreement is 1, and q = 1 for BP and AC1
        (np.zeros((10, 2), dtype=int), {"cohen_kappa", "scott_pi", "krippendorff_alpha",
                                         "fleiss_kappa", "brennan_prediger", "gwet_ac1"}),
        # one unit
        (np.array([[0, 1]]), set(COEFFICIENTS)),
        # all missing
        (np.full((5, 3), -1), set(COEFFICIENTS)),
        # no unit at all
        (np.zeros((0, 2), dtype=int), set(COEFFICIENTS)),
        # a coder who rated nothing (two coders: nothing is pairable)
        (np.array([[0, -1], [1, -1], [1, -1]]), set(COEFFICIENTS)),
    ],
)
def test_degenerate_inputs_are_undefined_not_nan(arr: np.ndarray, undefined: set[str]) -> None:
    result = compute(arr, bootstrap=50)
    all_values_clean(result)
    for name in COEFFICIENTS:
        est = result[name]
        if name in undefined:
            assert est.value is None and est.ci_low is None and est.ci_high is None, name
            assert est.note.startswith("undefined:") or "two coders" in est.note, name
        else:
            assert est.value is not None, name


def test_one_category_agreement_measures_stay_defined() -> None:
    result = compute(np.zeros((10, 2), dtype=int), bootstrap=0)
    assert result["percent_agreement"].value == 1.0
    assert result["holsti"].value == 1.0
    assert "0/0" in result["cohen_kappa"].note
    # With one known category (q = 1) BP and AC1 are undefined, not 1.0.
    for name in ("brennan_prediger", "gwet_ac1"):
        assert result[name].value is None
        assert "q = 1" in result[name].note and "observed" in result[name].note
    # A declared second category makes them defined again.
    declared = compute(np.zeros((10, 2), dtype=int), n_categories=2, bootstrap=0)
    assert declared["brennan_prediger"].value == 1.0
    assert declared["gwet_ac1"].value == 1.0


def test_coder_who_rated_nothing_among_three() -> None:
    arr = np.array([[0, 0, -1], [1, 1, -1], [1, 0, -1], [0, 0, -1]])
    result = compute(arr, bootstrap=0)
    # Fleiss' kappa uses the coders present in each unit: the two who rated.
    assert result["fleiss_kappa"].value == pytest.approx(
        compute(arr[:, :2], bootstrap=0)["fleiss_kappa"].value
    )
    # alpha, AC1 use the two coders who did rate; Holsti skips empty pairs
    assert result["krippendorff_alpha"].value is not None
    assert result["holsti"].value == pytest.approx(0.75)
    two = compute(arr[:, :2], bootstrap=0)
    assert result["krippendorff_alpha"].value == pytest.approx(two["krippendorff_alpha"].value)
    assert result["gwet_ac1"].value == pytest.approx(two["gwet_ac1"].value)


def test_single_declared_category_makes_bp_and_ac1_undefined() -> None:
    result = compute(np.zeros((4, 2), dtype=int), n_categories=1, bootstrap=0)
    assert result["brennan_prediger"].value is None
    assert result["gwet_ac1"].value is None
    assert "q < 2" in result["gwet_ac1"].note


@pytest.mark.parametrize(
    "bad",
    [
        np.array([0, 1, 2]),  # 1-D
        np.zeros((3, 2, 2), dtype=int),  # 3-D
        np.zeros((5, 1), dtype=int),  # one coder
        np.zeros((3, 2)),  # floats
        np.array([[0, -2], [1, 1]]),  # code below -1
    ],
)
def test_structurally_invalid_input_raises(bad: np.ndarray) -> None:
    with pytest.raises(AgreementError):
        compute(bad)


def test_invalid_parameters_raise() -> None:
    arr = np.array([[0, 1], [2, 2], [1, 1]])
    with pytest.raises(AgreementError):
        compute(arr, n_categories=2)  # code 2 outside 0..1
    with pytest.raises(AgreementError):
        compute(arr, bootstrap=-1)
    with pytest.raises(AgreementError):
        compute(arr, confidence=1.5)
    with pytest.raises(AgreementError):
        prevalence_bias(arr)  # not binary
    with pytest.raises(AgreementError):
        prevalence_bias(np.zeros((3, 3), dtype=int))


def test_prevalence_bias_without_complete_units() -> None:
    assert prevalence_bias(np.array([[0, -1], [-1, 1]])) == (None, None)


def test_sparse_category_codes_are_compacted() -> None:
    arr = np.array([[0, 0], [5, 5], [5, 0], [0, 0]])
    compact = np.where(arr == 5, 1, arr)
    a, b = compute(arr, bootstrap=0), compute(compact, bootstrap=0)
    assert values(a) == values(b)
    assert "q = 2 categories" in a["brennan_prediger"].note


def test_estimate_to_dict() -> None:
    est = Estimate(0.5, 0.4, 0.6, "note")
    assert est.to_dict() == {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "note": "note"}


# --------------------------------------------------------------------------- #
# Bootstrap
# --------------------------------------------------------------------------- #


def typical_table(n: int = 300, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    arr = np.stack([truth, truth, truth], axis=1)
    noise = rng.random(arr.shape) < 0.2
    arr[noise] = rng.integers(0, 3, size=noise.sum())
    arr[rng.random(arr.shape) < 0.05] = -1
    return arr


def test_bootstrap_is_reproducible_and_seed_dependent() -> None:
    arr = typical_table()
    a = compute(arr, bootstrap=300, seed=42)
    b = compute(arr, bootstrap=300, seed=42)
    c = compute(arr, bootstrap=300, seed=43)
    assert a == b
    assert a["krippendorff_alpha"].ci_low != c["krippendorff_alpha"].ci_low


def test_ci_contains_point_estimate_on_typical_table() -> None:
    for arr in (typical_table(), typical_table()[:, :2]):
        result = compute(arr, bootstrap=500)
        for name, est in result.items():
            if est.value is None:
                continue
            assert est.ci_low is not None and est.ci_high is not None, name
            assert est.ci_low < est.value < est.ci_high, name


def test_no_bootstrap_means_no_interval() -> None:
    result = compute(typical_table(), bootstrap=0)
    assert all(est.ci_low is None and est.ci_high is None for est in result.values())


def test_vectorised_bootstrap_equals_naive_loop() -> None:
    """The bincount bootstrap must equal resampling the rows one by one."""
    arr = typical_table(n=60)
    resamples, seed, confidence = 40, 9, 0.9
    result = compute(arr, bootstrap=resamples, seed=seed, confidence=confidence)
    # Same draws as the engine (one chunk when B * n is small).
    idx = np.random.default_rng(seed).integers(0, arr.shape[0], size=(resamples, arr.shape[0]))
    draws: dict[str, list[float]] = {name: [] for name in COEFFICIENTS}
    for row in idx:
        for name, est in compute(arr[row], n_categories=3, bootstrap=0).items():
            if est.value is not None:
                draws[name].append(est.value)
    for name in COEFFICIENTS:
        if not draws[name]:
            assert result[name].ci_low is None
            continue
        low, high = np.quantile(draws[name], [0.05, 0.95])
        assert result[name].ci_low == pytest.approx(low, abs=TOL), name
        assert result[name].ci_high == pytest.approx(high, abs=TOL), name


def test_undefined_resamples_are_reported() -> None:
    # A rare code: some resamples contain it in neither coder -> kappa undefined.
    arr = np.zeros((12, 2), dtype=int)
    arr[0] = [1, 1]
    result = compute(arr, bootstrap=200)
    assert result["cohen_kappa"].value == pytest.approx(1.0)
    assert "bootstrap resamples undefined" in result["cohen_kappa"].note


def test_speed_two_million_units_without_bootstrap() -> None:
    import time

    arr = np.random.default_rng(0).integers(0, 2, size=(2_000_000, 2))
    start = time.perf_counter()
    compute(arr, bootstrap=0)
    assert time.perf_counter() - start < 1.0


def test_pattern_count_bootstrap_matches_unit_resampling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawing pattern counts (multinomial) is the same resampling as drawing units.

    Many units per pattern: the engine draws pattern counts. Forced to draw unit
    indices instead (checked against a naive loop above), it must give the same
    intervals up to Monte Carlo error.
    """
    from qda.agreement import coefficients

    arr = typical_table(n=4000)
    by_counts = compute(arr, bootstrap=4000, seed=5)
    monkeypatch.setattr(coefficients, "_INDEX_DRAWS_UP_TO", 10**9)
    by_units = compute(arr, bootstrap=4000, seed=5)
    for name in COEFFICIENTS:
        if by_units[name].value is None:
            continue
        assert by_counts[name].value == by_units[name].value, name
        assert by_counts[name].ci_low == pytest.approx(by_units[name].ci_low, abs=0.005), name
        assert by_counts[name].ci_high == pytest.approx(by_units[name].ci_high, abs=0.005), name
    assert by_counts["krippendorff_alpha"].ci_low != by_units["krippendorff_alpha"].ci_low
