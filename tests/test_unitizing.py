"""Krippendorff's alpha for unitizing (qda.agreement.unitizing).

Two kinds of evidence: the published worked example of the 1995/2004 coefficient, and,
for the 2016 family (no published numeric example was available to us), an independent
brute force that walks every character of every coder pair, written from the
definitions rather than from the module's vectorised algebra.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from qda.agreement.unitizing import CoderSpans, alpha_1995, unitizing_alpha
from qda.errors import AgreementError

# Krippendorff (2004), Content Analysis, 2nd ed., §11.6, p. 254: two observers unitize the
# continuum 150..450 with categories c and k. The data and the expected figures (uDo_c =
# .0144, uDe_c = .0532, uα_c = .7286, uDe_k = .0490, uα_k = 1, overall .859) are those
# DKPro Statistics' Krippendorff2004Test gives for this worked example, citing that page;
# we could not consult the book page itself.
C_I = [(225, 295), (370, 400)]
C_J = [(220, 300), (355, 375), (400, 420)]
K_BOTH = [(180, 240), (300, 350)]


def test_krippendorff_2004_worked_example_category_c():
    alpha, observed, expected = alpha_1995([C_I, C_J], 150, 450)
    assert observed == pytest.approx(0.0144, abs=5e-5)
    assert expected == pytest.approx(0.0532, abs=5e-5)
    assert alpha == pytest.approx(0.7286, abs=5e-4)


def test_krippendorff_2004_worked_example_category_k_and_overall():
    alpha_k, observed_k, expected_k = alpha_1995([K_BOTH, K_BOTH], 150, 450)
    assert alpha_k == pytest.approx(1.0) and observed_k == 0
    assert expected_k == pytest.approx(0.0490, abs=5e-5)
    _, observed_c, expected_c = alpha_1995([C_I, C_J], 150, 450)
    # overall uα: 1 − Σ_c uDo_c / Σ_c uDe_c (Krippendorff 2004, p. 254: .859)
    assert 1 - (observed_c + observed_k) / (expected_c + expected_k) == pytest.approx(0.859, abs=1e-3)


def test_1995_distance_cases():
    # The 1995/2004 distance of two overlapping units: their squared boundary differences
    # (DKPro Statistics' testDistanceMetric1 gives 26 for units [5, 11) and [4, 6)).
    _, observed, _ = alpha_1995([[(5, 11)], [(4, 6)]], 0, 20)
    # one pair of overlapping units: (5-4)² + (11-6)² = 26, both orders, / (m (m-1) L²)
    assert observed == pytest.approx(2 * 26 / (2 * 400))


# ----------------------------------------------------------------------------- brute force

def _values(spans, code_values, length):
    """Per character, the set of values a coder gave it (code_values maps code -> value)."""
    chars = [set() for _ in range(length)]
    for code, start, end in spans:
        for x in range(max(start, 0), min(end, length)):
            chars[x].add(code_values[code])
    return chars


def _segments(chars, value):
    """Maximal runs of characters carrying ``value`` (as lists of positions)."""
    runs, current = [], []
    for x, vals in enumerate(chars):
        if value in vals:
            current.append(x)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def brute_binary(coders, lengths, code):
    """|cuα of one code, character by character: values 'c' and 'gap'."""
    m = len(coders)
    coinc = {("c", "c"): 0.0, ("c", "gap"): 0.0, ("gap", "c"): 0.0, ("gap", "gap"): 0.0}
    squares = 0.0
    for d, length in enumerate(lengths):
        marks = [[("c" if code in vals else "gap") for vals in
                  _values([(k, s, e) for k, dd, s, e in coder if dd == d], {k: k for k in range(99)}, length)]
                 for coder in coders]
        for i, j in itertools.permutations(range(m), 2):
            for x in range(length):
                coinc[(marks[i][x], marks[j][x])] += 1 / (m - 1)
        for mark in marks:
            run = 0
            for x in range(length + 1):
                if x < length and mark[x] == "c":
                    run += 1
                    continue
                squares += run * run
                run = 0
            squares += mark.count("gap")
    n = sum(coinc.values())
    row = {v: coinc[(v, "c")] + coinc[(v, "gap")] for v in ("c", "gap")}
    expected_off = 2 * row["c"] * row["gap"] / (n - squares / n)
    return 1 - (coinc[("c", "gap")] + coinc[("gap", "c")]) / expected_off


def brute_coding(coders, lengths, code_values):
    """cuα over values (codes mapped by code_values), character by character, gaps left out."""
    m = len(coders)
    values = sorted(set(code_values.values()))
    coinc = {(a, b): 0.0 for a in values for b in values}
    squares = 0.0
    for d, length in enumerate(lengths):
        chars = [_values([(k, s, e) for k, dd, s, e in coder if dd == d], code_values, length) for coder in coders]
        for i, j in itertools.permutations(range(m), 2):
            for x in range(length):
                for a in chars[i][x]:
                    for b in chars[j][x]:
                        coinc[(a, b)] += 1 / (m - 1)
        for i in range(m):
            for value in values:
                for run in _segments(chars[i], value):
                    pairable = sum(1 for x in run if any(chars[j][x] for j in range(m) if j != i))
                    squares += pairable * pairable
    n = sum(coinc.values())
    rows = {a: sum(coinc[(a, b)] for b in values) for a in values}
    observed_off = n - sum(coinc[(a, a)] for a in values)
    expected_off = (n * n - sum(r * r for r in rows.values())) / (n - squares / n)
    return 1 - observed_off / expected_off


def _random_study(rng, n_coders, lengths, n_codes, per_coder):
    coders = []
    for _ in range(n_coders):
        spans = []
        for _ in range(per_coder):
            d = rng.randrange(len(lengths))
            start = rng.randrange(lengths[d])
            spans.append((rng.randrange(n_codes), d, start, min(lengths[d], start + rng.randrange(1, 25))))
        coders.append(spans)
    return coders


def _columns(spans):
    return CoderSpans.of([k for k, _, _, _ in spans], [d for _, d, _, _ in spans],
                         [s for _, _, s, _ in spans], end=[e for _, _, _, e in spans])


@pytest.mark.parametrize("n_coders", [2, 3, 4])
@pytest.mark.parametrize("trial", range(4))
def test_family_equals_character_brute_force(n_coders, trial):
    rng = random.Random(1000 * n_coders + trial)
    lengths = [rng.randrange(40, 90) for _ in range(3)]
    coders = _random_study(rng, n_coders, lengths, 3, 8)
    domains = [0, 0, 1]
    result = unitizing_alpha([_columns(c) for c in coders], lengths, 3, domains=domains, bootstrap=0)
    for code in range(3):
        est = result.codes[code]
        if est.value is not None:
            assert est.value == pytest.approx(brute_binary(coders, lengths, code), abs=1e-9)
    if result.coding.value is not None:
        assert result.coding.value == pytest.approx(brute_coding(coders, lengths, {0: 0, 1: 1, 2: 2}), abs=1e-9)
    if result.domains.value is not None:
        assert result.domains.value == pytest.approx(brute_coding(coders, lengths, {0: 0, 1: 0, 2: 1}), abs=1e-9)


def test_same_codings_give_one_and_missing_code_is_undefined():
    spans = _columns([(0, 0, 3, 10), (0, 1, 0, 5), (1, 0, 8, 12)])
    result = unitizing_alpha([spans, spans], [20, 10], 3, bootstrap=200)
    assert result.codes[0].value == pytest.approx(1.0)
    assert result.codes[2].value is None and result.codes[2].note.startswith("undefined")
    assert result.pooled.value == pytest.approx(1.0)


def test_pooled_is_one_minus_summed_disagreements():
    rng = random.Random(7)
    lengths = [60, 70]
    coders = _random_study(rng, 2, lengths, 2, 6)
    result = unitizing_alpha([_columns(c) for c in coders], lengths, 2, bootstrap=0)
    # every code has the same l.. (m x total length), so pooled = 1 - Σ(1 - α_c) De_c / Σ De_c;
    # checked through the brute force: the pooled value lies between the codes' values.
    values = [e.value for e in result.codes]
    assert min(values) - 1e-12 <= result.pooled.value <= max(values) + 1e-12


def test_bootstrap_over_documents_is_deterministic_and_brackets_the_value():
    rng = random.Random(3)
    lengths = [rng.randrange(50, 80) for _ in range(8)]
    coders = _random_study(rng, 2, lengths, 1, 20)
    first = unitizing_alpha([_columns(c) for c in coders], lengths, 1, bootstrap=300, seed=5)
    again = unitizing_alpha([_columns(c) for c in coders], lengths, 1, bootstrap=300, seed=5)
    est = first.codes[0]
    assert est == again.codes[0]
    assert est.ci_low is not None and est.ci_low <= est.value <= est.ci_high
    assert "8 documents" in est.note


def test_one_document_has_no_interval_and_says_why():
    spans = _columns([(0, 0, 3, 10)])
    other = _columns([(0, 0, 4, 12)])
    est = unitizing_alpha([spans, other], [30], 1, bootstrap=100).codes[0]
    assert est.value is not None and est.ci_low is None and "1 document(s)" in est.note


def test_errors():
    spans = _columns([(0, 0, 3, 10)])
    with pytest.raises(AgreementError):
        unitizing_alpha([spans], [30], 1)
    with pytest.raises(AgreementError):
        unitizing_alpha([spans, _columns([(0, 5, 0, 3)])], [30], 1)


def test_partial_overlap_scores_between_zero_and_one():
    # Two coders mark nearly the same stretch in a long text: high, not perfect, agreement
    # (the case the old 90 % span pairing scored as a plain disagreement).
    a = _columns([(0, 0, 100, 160)])
    b = _columns([(0, 0, 104, 160)])
    value = unitizing_alpha([a, b], [1000], 1, bootstrap=0).codes[0].value
    assert 0.9 < value < 1.0
    assert value == pytest.approx(brute_binary([[(0, 0, 100, 160)], [(0, 0, 104, 160)]], [1000], 0), abs=1e-12)


def test_vectorised_on_many_spans_matches_per_document_sums():
    rng = np.random.default_rng(0)
    starts = rng.integers(0, 9000, 3000)
    a = CoderSpans.of(rng.integers(0, 5, 3000), rng.integers(0, 4, 3000), starts,
                      end=starts + rng.integers(1, 80, 3000))
    starts = rng.integers(0, 9000, 3000)
    b = CoderSpans.of(rng.integers(0, 5, 3000), rng.integers(0, 4, 3000), starts,
                      end=starts + rng.integers(1, 80, 3000))
    result = unitizing_alpha([a, b], [10000] * 4, 5, bootstrap=100)
    assert all(e.value is not None and -1 <= e.value <= 1 for e in result.codes)
