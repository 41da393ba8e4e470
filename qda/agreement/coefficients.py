"""Inter-coder agreement coefficients: a pure, vectorised statistics engine.

Input is a *units x coders* integer matrix: ``ratings[u, j]`` is the category
code (``0 .. K-1``) that coder ``j`` gave to unit ``u``, or ``-1`` when coder
``j`` did not rate unit ``u``. :func:`encode` turns a pandas table of labels into
such a matrix. :func:`compute` returns every coefficient of :data:`COEFFICIENTS`
as an :class:`Estimate` (point value and percentile-bootstrap interval).

Notation used below: ``n_uk`` is the number of coders who put unit ``u`` in
category ``k``, ``m_u = sum_k n_uk`` the number of coders who rated ``u``, ``m``
the number of coders, ``q`` the size of the category set (``n_categories``).
A unit is *pairable* when ``m_u >= 2`` and *complete* when ``m_u == m``.

Definitions and conventions (see also ``docs/agreement-coefficients.md``):

``percent_agreement``
    Mean over pairable units of the share of agreeing coder pairs,
    ``p_a = mean_u  sum_k n_uk (n_uk - 1) / (m_u (m_u - 1))``. With two coders
    this is the share of units rated by both with identical ratings.
``cohen_kappa`` (two coders only)
    ``(p_o - p_e) / (1 - p_e)`` with ``p_e = sum_k a_k b_k / N^2`` from each
    coder's own marginals; listwise deletion (units rated by both coders).
``scott_pi`` (two coders only)
    As Cohen's kappa but ``p_e = sum_k ((a_k + b_k) / 2N)^2`` (pooled
    marginals); listwise deletion.
``krippendorff_alpha`` (nominal)
    ``1 - (n - 1) (n - sum_c o_cc) / (n^2 - sum_c n_c^2)`` from the coincidence
    matrix ``o_ck = sum_u (n_uc n_uk - [c = k] n_uc) / (m_u - 1)`` over pairable
    units, ``n_c = sum_k o_ck``, ``n = sum_c n_c``. Any number of coders, missing
    data allowed (units with a single rating are not pairable and drop out).
``brennan_prediger``
    ``(p_a - 1/q) / (1 - 1/q)`` with ``p_a`` the percent agreement above.
``gwet_ac1``
    Gwet's multi-rater AC1 with missing ratings (Gwet, *Handbook of
    Inter-Rater Reliability*): ``p_a`` as above (units rated by >= 2 coders),
    ``pi_k = mean over units rated by >= 1 coder of n_uk / m_u``,
    ``p_e = sum_k pi_k (1 - pi_k) / (q - 1)``, ``AC1 = (p_a - p_e) / (1 - p_e)``.
``fleiss_kappa``
    Fleiss (1971) generalised to missing ratings as in Gwet (2014) and irrCAC's
    ``fleiss.kappa.raw``: each unit uses the coders present in it. ``p_a`` is
    the percent agreement above (units rated by >= 2 coders), ``pi_k`` is the
    mean over units rated by >= 1 coder of ``n_uk / m_u`` (as for AC1),
    ``p_e = sum_k pi_k^2``, ``kappa = (p_a - p_e) / (1 - p_e)``. On complete data
    this is exactly Fleiss (1971); with two coders and no missing rating it is
    Scott's pi.
``holsti``
    ``2 M / (N_1 + N_2)``: ``N_j`` units rated by coder ``j``, ``M`` units both
    rated identically; with more than two coders, the mean over coder pairs in
    which both coders rated at least one unit.

Undefined values (no usable data, fewer than two usable units, chance agreement
equal to 1, fewer than two known categories for Brennan–Prediger and AC1, a two-coder coefficient asked
for more coders) are returned as ``Estimate(None, None, None, "undefined: ...")``
and never as NaN. Only structurally invalid input raises
:class:`qda.errors.AgreementError`.

Bootstrap: percentile bootstrap over units. Every unit is reduced to its
*rating pattern* (its row of the matrix); each coefficient is a smooth function
of sums of per-pattern features, so a resample is fully described by how many
times it draws each pattern. Drawing ``n`` units uniformly with replacement
gives pattern counts that follow a multinomial distribution over the ``P``
distinct patterns with probabilities ``count_p / n``, so the engine draws those
counts directly (``Generator.multinomial``): the cost grows with the number of
patterns, not of units. Small tables (at most 2,000 units, or fewer than 8 units
per pattern) draw the ``B x n`` unit indices instead, which costs them a few
milliseconds and keeps the intervals of small studies exactly those of qda
versions that always drew indices. Both are the same resampling distribution, and
the choice depends only on the data, so the same data and seed always give the
same interval. Either way a matrix product of
the ``B x P`` count table with the feature table gives every coefficient for
every resample at once, with no Python loop over units or resamples. Resamples in
which a coefficient is undefined are excluded from its interval (the note says
how many).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas costs ~0.6 s to import: only tables of labels need it
    import pandas as pd

from qda.errors import AgreementError

__all__ = [
    "COEFFICIENTS",
    "Estimate",
    "compute",
    "encode",
    "kappa_paradox",
    "prevalence_bias",
]

COEFFICIENTS: tuple[str, ...] = (
    "percent_agreement",
    "cohen_kappa",
    "scott_pi",
    "krippendorff_alpha",
    "brennan_prediger",
    "gwet_ac1",
    "fleiss_kappa",
    "holsti",
)

#: Human-readable names, used in notes and warnings.
DISPLAY_NAMES: dict[str, str] = {
    "percent_agreement": "percent agreement",
    "cohen_kappa": "Cohen's kappa",
    "scott_pi": "Scott's pi",
    "krippendorff_alpha": "Krippendorff's alpha",
    "brennan_prediger": "Brennan–Prediger",
    "gwet_ac1": "Gwet's AC1",
    "fleiss_kappa": "Fleiss' kappa",
    "holsti": "Holsti",
    # not a units x coders coefficient: the span unit's headline (qda.agreement.unitizing)
    "unitizing_alpha": "Krippendorff's unitizing alpha (|uα)",
}

# Upper bound on the number of elements of one chunk of the bootstrap index
# matrix (int64): 2**22 elements = 32 MiB per temporary array.
_CHUNK_ELEMENTS = 1 << 22
# Largest pattern space counted with a dense bincount instead of np.unique.
_DENSE_PATTERNS = 1 << 22
# The bootstrap draws unit indices up to this many units, or this many units per
# rating pattern (a multinomial draw costs about 8 index draws per pattern), and
# pattern counts above.
_INDEX_DRAWS_UP_TO = 2000
_UNITS_PER_PATTERN = 8


@dataclass(frozen=True)
class Estimate:
    """One agreement coefficient: point value and bootstrap interval.

    ``value`` is ``None`` when the coefficient is undefined on the data; ``note``
    then starts with ``"undefined:"`` and says why. For defined values ``note``
    records the convention applied (listwise deletion, category count, ...).
    ``ci_low``/``ci_high`` are ``None`` when no bootstrap was requested or the
    interval cannot be formed.
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form ``{"value", "ci_low", "ci_high", "note"}`` (JSON-ready)."""
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "note": self.note,
        }


# --------------------------------------------------------------------------- #
# Encoding labels
# --------------------------------------------------------------------------- #


def _canonical_label(value: Any) -> Any:
    """Normalise one raw label; return ``None`` when it means "missing".

    Numpy scalars become Python scalars, integral floats become ints (so that a
    column read as ``1.0`` because it has blanks matches a column read as
    ``1``), strings are stripped and blank strings are missing.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value if value else None
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return int(value)
        return value
    import pandas as pd

    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _label_sort_key(label: Any) -> tuple[int, Any, str]:
    if isinstance(label, Real) and not isinstance(label, bool):
        return (0, float(label), "")
    return (1, 0.0, str(label))


def encode(table: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Encode a units x coders table of category labels as an integer matrix.

    Parameters
    ----------
    table:
        ``pandas.DataFrame`` with one row per unit and one column per coder. Cells
        hold category labels (any hashable). ``NaN``, ``None``, ``pd.NA`` and
        blank strings are missing ratings.

    Returns
    -------
    (ratings, labels)
        ``ratings`` is an ``int64`` array of shape ``(units, coders)`` holding the
        index of each label in ``labels`` or ``-1`` for missing. ``labels`` are
        the distinct observed labels as strings, sorted (numbers numerically,
        then other labels alphabetically).

    Conventions: labels are compared after normalisation: surrounding
    whitespace is stripped from strings, integral floats are treated as
    integers (``1.0`` == ``1``), and labels with the same text form are the same
    category (the number ``1`` and the string ``"1"`` are one category).
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise AgreementError(
            f"agreement needs a table of units x coders (a DataFrame), got {type(table).__name__}"
        )
    n_units, n_coders = table.shape
    values = table.to_numpy(dtype=object).ravel()
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    canon_by_key: dict[str, Any] = {}
    unique_keys: list[str | None] = []
    for raw in uniques:
        canon = _canonical_label(raw)
        if canon is None:
            unique_keys.append(None)
            continue
        key = str(canon)
        canon_by_key.setdefault(key, canon)
        unique_keys.append(key)
    labels = sorted(canon_by_key, key=lambda k: _label_sort_key(canon_by_key[k]))
    position = {key: i for i, key in enumerate(labels)}
    lookup = np.array(
        [position[k] if k is not None else -1 for k in unique_keys] + [-1], dtype=np.int64
    )
    # factorize's NA sentinel -1 indexes the trailing -1 of ``lookup``.
    ratings = lookup[codes].reshape(n_units, n_coders)
    return ratings, labels


# --------------------------------------------------------------------------- #
# Validation and rating patterns
# --------------------------------------------------------------------------- #


def _validate(ratings: Any) -> np.ndarray:
    arr = np.asarray(ratings)
    if arr.ndim != 2:
        raise AgreementError(
            f"ratings must be a 2-D units x coders matrix, got {arr.ndim} dimension(s)"
        )
    if arr.shape[1] < 2:
        raise AgreementError(
            f"agreement needs at least 2 coders, got {arr.shape[1]}"
        )
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise AgreementError(
            f"ratings must be integer category codes with -1 for missing, got dtype {arr.dtype}"
            " (use qda.agreement.coefficients.encode on a table of labels)"
        )
    arr = arr.astype(np.int64, copy=False)
    if arr.size and int(arr.min()) < -1:
        raise AgreementError("ratings contain codes below -1; use -1 for a missing rating")
    return arr


def _compact_categories(arr: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Return (ratings with observed codes renumbered 0..K-1, K, max code + 1)."""
    if arr.size == 0:
        return arr, 0, 0
    top = int(arr.max()) + 1
    if top <= 0:
        return arr, 0, 0
    valid = arr >= 0
    if top <= _DENSE_PATTERNS:
        # Shifted by one so that missing (-1) counts in slot 0: no masked copy of the table.
        present = np.bincount(arr.ravel() + 1, minlength=top + 1)[1:] > 0
        observed = np.flatnonzero(present)
    else:
        observed = np.unique(arr[valid])
    k = int(observed.size)
    if k == top:
        return arr, k, top
    if top <= _DENSE_PATTERNS:
        remap = np.full(top + 1, -1, dtype=np.int64)
        remap[observed] = np.arange(k)
        out = remap[arr]  # -1 indexes the trailing -1
    else:
        out = np.where(valid, np.searchsorted(observed, arr), -1)
    return out, k, top


@dataclass(frozen=True)
class _Patterns:
    rows: np.ndarray  # P x m distinct rows (codes, -1 missing)
    counts: np.ndarray  # P, how many units have each row
    inverse: np.ndarray | None  # n, pattern id of each unit (for the bootstrap)


def _patterns(arr: np.ndarray, k: int, need_inverse: bool) -> _Patterns:
    n, m = arr.shape
    base = k + 1
    if n == 0:
        return _Patterns(np.empty((0, m), np.int64), np.empty(0, np.int64),
                         np.empty(0, np.int64))
    if m * math.log2(base) < 62:
        code = arr[:, 0] + 1
        for j in range(1, m):
            code = code * base + (arr[:, j] + 1)
        space = base**m
        if space <= _DENSE_PATTERNS:
            counts_all = np.bincount(code, minlength=space)
            uniq = np.flatnonzero(counts_all)
            counts = counts_all[uniq]
            inverse = None
            if need_inverse:
                lookup = np.zeros(space, dtype=np.int64)
                lookup[uniq] = np.arange(uniq.size)
                inverse = lookup[code]
        else:
            if need_inverse:
                uniq, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
                inverse = inverse.reshape(-1)
            else:
                uniq, counts = np.unique(code, return_counts=True)
                inverse = None
        rows = np.empty((uniq.size, m), dtype=np.int64)
        rest = uniq.astype(np.int64)
        for j in range(m - 1, -1, -1):
            rows[:, j] = rest % base - 1
            rest = rest // base
        return _Patterns(rows, counts.astype(np.int64), inverse)
    rows, inverse, counts = np.unique(arr, axis=0, return_inverse=True, return_counts=True)
    return _Patterns(rows, counts.astype(np.int64),
                     inverse.reshape(-1) if need_inverse else None)


# --------------------------------------------------------------------------- #
# Per-pattern features (all coefficients are functions of their weighted sums)
# --------------------------------------------------------------------------- #


class _Features:
    """Feature table: named column blocks of a P x F float matrix."""

    def __init__(self, n_rows: int) -> None:
        self._blocks: list[np.ndarray] = []
        self.slices: dict[str, slice] = {}
        self._width = 0
        self._n_rows = n_rows

    def add(self, name: str, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float64)
        block = block.reshape(self._n_rows, block.shape[1] if block.ndim == 2 else 1)
        self.slices[name] = slice(self._width, self._width + block.shape[1])
        self._width += block.shape[1]
        self._blocks.append(block)

    def matrix(self) -> np.ndarray:
        if not self._blocks:
            return np.zeros((self._n_rows, 0))
        return np.concatenate(self._blocks, axis=1)


def _build_features(rows: np.ndarray, k: int) -> _Features:
    p, m = rows.shape
    valid = rows >= 0
    cnt = np.zeros((p, k), dtype=np.float64)
    if k and p:
        row_ids = np.broadcast_to(np.arange(p)[:, None], rows.shape)
        flat = np.bincount((row_ids * k + rows)[valid], minlength=p * k)
        cnt = flat.reshape(p, k).astype(np.float64)
    m_u = valid.sum(axis=1).astype(np.float64)
    pairable = m_u >= 2
    rated = m_u >= 1
    complete = m_u == m
    same_pairs = (cnt * (cnt - 1.0)).sum(axis=1)  # ordered agreeing pairs in the unit
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha_diag = np.where(pairable, same_pairs / (m_u - 1.0), 0.0)
        pa_unit = np.where(pairable, same_pairs / (m_u * (m_u - 1.0)), 0.0)
        share = np.where(rated[:, None], cnt / m_u[:, None], 0.0)

    f = _Features(p)
    # percent agreement / Brennan–Prediger / AC1 observed agreement
    f.add("pairable", pairable)
    f.add("pa_sum", pa_unit)
    # Krippendorff's alpha (coincidences over pairable units)
    f.add("alpha_n", m_u * pairable)
    f.add("alpha_diag", alpha_diag)
    f.add("alpha_nc", cnt * pairable[:, None])
    # Gwet's AC1 chance agreement
    f.add("rated", rated)
    f.add("ac1_share", share)
    # Two-coder coefficients (listwise)
    if m == 2:
        both = complete
        cats = np.arange(k)
        f.add("two_n", both)
        f.add("two_agree", both & (rows[:, 0] == rows[:, 1]))
        f.add("two_a", (rows[:, [0]] == cats[None, :]) & both[:, None])
        f.add("two_b", (rows[:, [1]] == cats[None, :]) & both[:, None])
    # Holsti: units rated by each coder, identical ratings per coder pair
    f.add("holsti_rated", valid)
    left, right = np.triu_indices(m, 1)
    f.add(
        "holsti_agree",
        (rows[:, left] == rows[:, right]) & valid[:, left],
    )
    return f


# --------------------------------------------------------------------------- #
# Coefficients from feature totals (vectorised over bootstrap resamples)
# --------------------------------------------------------------------------- #

_Conditions = list[tuple[np.ndarray, str]]
_Result = tuple[np.ndarray, _Conditions]


@dataclass(frozen=True)
class _Context:
    slices: Mapping[str, slice]
    n_coders: int
    q: int
    q_source: str  # "declared" or "observed"


def _col(t: np.ndarray, ctx: _Context, name: str) -> np.ndarray:
    return t[:, ctx.slices[name]]


def _one(t: np.ndarray, ctx: _Context, name: str) -> np.ndarray:
    return t[:, ctx.slices[name].start]


_FEW_PAIRABLE = "undefined: fewer than two units were rated by at least two coders"


_ONE_CATEGORY = (
    "undefined: fewer than two categories are known (q = {q}, {source}), so chance "
    "agreement cannot be formed (q < 2); declare the codebook's categories"
)


def _percent_agreement(t: np.ndarray, ctx: _Context) -> _Result:
    u = _one(t, ctx, "pairable")
    value = _one(t, ctx, "pa_sum") / u
    return value, [(u < 2, _FEW_PAIRABLE)]


def _brennan_prediger(t: np.ndarray, ctx: _Context) -> _Result:
    pa, conditions = _percent_agreement(t, ctx)
    if ctx.q < 2:
        bad = np.ones(t.shape[0], dtype=bool)
        return np.full(t.shape[0], np.nan), [
            (bad, _ONE_CATEGORY.format(q=ctx.q, source=ctx.q_source))
        ]
    value = (pa - 1.0 / ctx.q) / (1.0 - 1.0 / ctx.q)
    return value, conditions


def _gwet_ac1(t: np.ndarray, ctx: _Context) -> _Result:
    pa, conditions = _percent_agreement(t, ctx)
    if ctx.q < 2:
        bad = np.ones(t.shape[0], dtype=bool)
        return np.full(t.shape[0], np.nan), [
            (bad, _ONE_CATEGORY.format(q=ctx.q, source=ctx.q_source))
        ]
    pi = _col(t, ctx, "ac1_share") / _one(t, ctx, "rated")[:, None]
    pe = (pi * (1.0 - pi)).sum(axis=1) / (ctx.q - 1)
    value = (pa - pe) / (1.0 - pe)
    return value, conditions


def _krippendorff_alpha(t: np.ndarray, ctx: _Context) -> _Result:
    u = _one(t, ctx, "pairable")
    n = _one(t, ctx, "alpha_n")
    diag = _one(t, ctx, "alpha_diag")
    nc = _col(t, ctx, "alpha_nc")
    denominator = n * n - (nc * nc).sum(axis=1)
    value = 1.0 - (n - 1.0) * (n - diag) / denominator
    return value, [
        (u < 2, _FEW_PAIRABLE),
        (
            denominator <= 0,
            "undefined: all pairable ratings fall in one category, "
            "so expected disagreement is 0 (alpha = 0/0)",
        ),
    ]


def _two_coder(t: np.ndarray, ctx: _Context, pooled: bool, name: str) -> _Result:
    if ctx.n_coders != 2:
        bad = np.ones(t.shape[0], dtype=bool)
        return np.full(t.shape[0], np.nan), [
            (bad, f"{name} is defined for two coders; see Fleiss' kappa")
        ]
    n = _one(t, ctx, "two_n")
    a = _col(t, ctx, "two_a")
    b = _col(t, ctx, "two_b")
    po = _one(t, ctx, "two_agree") / n
    if pooled:
        s = a + b
        chance_num = (s * s).sum(axis=1)
        chance_den = 4.0 * n * n
    else:
        chance_num = (a * b).sum(axis=1)
        chance_den = n * n
    pe = chance_num / chance_den
    value = (po - pe) / (1.0 - pe)
    return value, [
        (n < 2, "undefined: fewer than two units were rated by both coders"),
        (
            chance_num >= chance_den,
            "undefined: chance agreement is 1 (both coders used a single, "
            f"identical category), so {name} = 0/0",
        ),
    ]


def _cohen_kappa(t: np.ndarray, ctx: _Context) -> _Result:
    return _two_coder(t, ctx, pooled=False, name="Cohen's kappa")


def _scott_pi(t: np.ndarray, ctx: _Context) -> _Result:
    return _two_coder(t, ctx, pooled=True, name="Scott's pi")


def _fleiss_kappa(t: np.ndarray, ctx: _Context) -> _Result:
    # Gwet (2014): observed agreement over the coders present in each pairable
    # unit, chance agreement from the mean per-unit category shares (the same
    # shares as AC1), so a missing rating costs one rating, not the whole unit.
    pa, conditions = _percent_agreement(t, ctx)
    pi = _col(t, ctx, "ac1_share") / _one(t, ctx, "rated")[:, None]
    pe = (pi * pi).sum(axis=1)
    value = (pa - pe) / (1.0 - pe)
    return value, conditions + [
        (
            pe >= 1.0 - 1e-12,
            "undefined: all ratings fall in one category, so chance agreement is 1 "
            "(kappa = 0/0)",
        ),
    ]


def _holsti(t: np.ndarray, ctx: _Context) -> _Result:
    u = _one(t, ctx, "pairable")
    rated = _col(t, ctx, "holsti_rated")
    agree = _col(t, ctx, "holsti_agree")
    left, right = np.triu_indices(ctx.n_coders, 1)
    n_left = rated[:, left]
    n_right = rated[:, right]
    usable = (n_left > 0) & (n_right > 0)
    per_pair = np.where(usable, 2.0 * agree / np.where(usable, n_left + n_right, 1.0), 0.0)
    n_usable = usable.sum(axis=1)
    value = per_pair.sum(axis=1) / n_usable
    return value, [
        (u < 2, _FEW_PAIRABLE),
        (n_usable == 0, "undefined: no pair of coders in which both rated a unit"),
    ]


_COMPUTERS: dict[str, Callable[[np.ndarray, _Context], _Result]] = {
    "percent_agreement": _percent_agreement,
    "cohen_kappa": _cohen_kappa,
    "scott_pi": _scott_pi,
    "krippendorff_alpha": _krippendorff_alpha,
    "brennan_prediger": _brennan_prediger,
    "gwet_ac1": _gwet_ac1,
    "fleiss_kappa": _fleiss_kappa,
    "holsti": _holsti,
}


def _evaluate(totals: np.ndarray, ctx: _Context) -> dict[str, tuple[np.ndarray, list[str | None]]]:
    """All coefficients for each row of ``totals``; NaN where undefined.

    Returns, per coefficient, the values and (per row) the first reason that
    makes it undefined (``None`` when defined).
    """
    out: dict[str, tuple[np.ndarray, list[str | None]]] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for name, fn in _COMPUTERS.items():
            value, conditions = fn(totals, ctx)
            value = np.array(value, dtype=np.float64, copy=True)
            undefined = ~np.isfinite(value)
            reasons: list[str | None] = [None] * value.shape[0]
            for mask, reason in conditions:
                mask = np.asarray(mask, dtype=bool)
                if mask.shape[0] != value.shape[0]:
                    mask = np.broadcast_to(mask, value.shape)
                undefined |= mask
                if value.shape[0] == 1 and reasons[0] is None and bool(mask[0]):
                    reasons[0] = reason
            value[undefined] = np.nan
            if value.shape[0] == 1 and undefined[0] and reasons[0] is None:
                reasons[0] = "undefined: the coefficient is 0/0 on these data"
            out[name] = (value, reasons)
    return out


# --------------------------------------------------------------------------- #
# Bootstrap
# --------------------------------------------------------------------------- #


def _index_draws_are_cheaper(n_units: int, n_patterns: int) -> bool:
    """Whether to draw unit indices rather than pattern counts (see the module docstring)."""
    return n_units <= max(_INDEX_DRAWS_UP_TO, _UNITS_PER_PATTERN * n_patterns)


def _bootstrap_totals(
    counts: np.ndarray, inverse: np.ndarray | None, features: np.ndarray, resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Feature totals for ``resamples`` percentile-bootstrap resamples of the units.

    ``counts`` are the units per pattern; ``inverse`` (the pattern of each unit) is
    given when unit indices are to be drawn (see the module docstring). Per chunk, a
    ``c x P`` table of pattern counts is drawn, then multiplied by the ``P x F``
    feature table.
    """
    n = int(counts.sum())
    p = features.shape[0]
    totals = np.empty((resamples, features.shape[1]), dtype=np.float64)
    if inverse is None:
        chunk = max(1, min(resamples, _CHUNK_ELEMENTS // max(p, 1)))
        shares = counts.astype(np.float64) / n
        for start in range(0, resamples, chunk):
            c = min(chunk, resamples - start)
            drawn = rng.multinomial(n, shares, size=c)
            totals[start : start + c] = drawn.astype(np.float64) @ features
        return totals
    # Index draws: a c x n index matrix, mapped to pattern ids, offset by
    # resample * P and counted with a single bincount.
    chunk = max(1, min(resamples, _CHUNK_ELEMENTS // max(n, 1)))
    small = p <= np.iinfo(np.int32).max // max(chunk, 1)
    kind: type[np.signedinteger[Any]] = np.int32 if small else np.int64
    inv = inverse.astype(kind, copy=False)
    for start in range(0, resamples, chunk):
        c = min(chunk, resamples - start)
        idx = rng.integers(0, n, size=(c, n))
        pat = inv[idx]
        pat += (np.arange(c, dtype=pat.dtype) * p)[:, None]
        drawn = np.bincount(pat.ravel(), minlength=c * p).reshape(c, p)
        totals[start : start + c] = drawn.astype(np.float64) @ features
    return totals


# --------------------------------------------------------------------------- #
# Public entry points
# --------------------------------------------------------------------------- #


def _clean(x: float) -> float:
    return float(x)


def _convention_note(name: str, totals: np.ndarray, ctx: _Context, n_units: int) -> str:
    m = ctx.n_coders
    if name == "percent_agreement":
        u = int(_one(totals, ctx, "pairable")[0])
        if m == 2:
            return f"share of identical ratings over {u} units rated by both coders"
        return (
            f"mean share of agreeing coder pairs over {u} units rated by at least two coders"
        )
    if name in ("cohen_kappa", "scott_pi"):
        n = int(_one(totals, ctx, "two_n")[0])
        return f"listwise deletion: {n} of {n_units} units rated by both coders"
    if name == "krippendorff_alpha":
        u = int(_one(totals, ctx, "pairable")[0])
        return f"nominal; {u} pairable units (rated by at least two coders)"
    if name == "brennan_prediger":
        return f"q = {ctx.q} categories ({ctx.q_source})"
    if name == "gwet_ac1":
        return f"q = {ctx.q} categories ({ctx.q_source}); missing ratings as in Gwet (2014)"
    if name == "fleiss_kappa":
        u = int(_one(totals, ctx, "pairable")[0])
        r = int(_one(totals, ctx, "rated")[0])
        note = (
            "missing ratings as in Gwet (2014): the coders present in each unit; "
            f"observed agreement over {u} units rated by at least two coders, "
            f"chance agreement over {r} rated units"
        )
        if m == 2 and u == n_units:
            note += "; with two coders Fleiss' kappa equals Scott's pi (pooled marginals)"
        return note
    if name == "holsti":
        if m == 2:
            return "2M / (N1 + N2) over all units each coder rated"
        return f"mean of 2M / (Ni + Nj) over {m * (m - 1) // 2} coder pairs"
    return ""


def _empty_coder_reason(arr: np.ndarray) -> str | None:
    if arr.shape[0] == 0:
        return None
    rated = (arr >= 0).any(axis=0)
    if rated.all():
        return None
    missing = ", ".join(str(j + 1) for j in np.flatnonzero(~rated))
    return f"coder(s) {missing} rated no unit"


def compute(
    ratings: np.ndarray,
    *, n_categories: int | None = None,
    bootstrap: int = 1000,
    seed: int = 12345,
    confidence: float = 0.95,
) -> dict[str, Estimate]:
    """Compute every coefficient of :data:`COEFFICIENTS` on a rating matrix.

    Parameters
    ----------
    ratings:
        Integer array, units x coders; category codes ``0 .. K-1`` and ``-1`` for
        a missing rating (see :func:`encode`).
    n_categories:
        Size ``q`` of the *declared* category set (used by Brennan–Prediger and
        Gwet's AC1). Default: the number of categories observed; with fewer
        than two known categories both coefficients are undefined.
        Must be at least the largest code + 1.
    bootstrap:
        Number of percentile-bootstrap resamples of the units (0 = no interval).
    seed:
        Seed of ``numpy.random.default_rng``: same data and seed, same interval.
    confidence:
        Coverage of the interval, e.g. 0.95 -> 2.5th and 97.5th percentiles.

    Returns
    -------
    dict mapping each name of :data:`COEFFICIENTS` to an :class:`Estimate`.

    Raises
    ------
    AgreementError
        If ``ratings`` is not a 2-D integer matrix with at least 2 coders, has
        codes below -1 or above the declared category set, or a parameter is
        out of range.
    """
    arr = _validate(ratings)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, Integral) or bootstrap < 0:
        raise AgreementError(f"bootstrap must be a non-negative integer, got {bootstrap!r}")
    if not (isinstance(confidence, Real) and 0.0 < float(confidence) < 1.0):
        raise AgreementError(f"confidence must be between 0 and 1, got {confidence!r}")
    arr, k, top = _compact_categories(arr)
    if n_categories is not None:
        if isinstance(n_categories, bool) or not isinstance(n_categories, Integral):
            raise AgreementError(f"n_categories must be an integer, got {n_categories!r}")
        if n_categories < 1:
            raise AgreementError(f"n_categories must be at least 1, got {n_categories}")
        if top > n_categories:
            raise AgreementError(
                f"a rating uses category code {top - 1}, outside the declared "
                f"{n_categories} categories (codes 0..{n_categories - 1})"
            )
        q, q_source = int(n_categories), "declared"
    else:
        q, q_source = k, "observed"

    n_units, n_coders = arr.shape
    want_ci = bootstrap > 0 and n_units > 0
    pats = _patterns(arr, k, need_inverse=False)
    feats = _build_features(pats.rows, k)
    table = feats.matrix()
    ctx = _Context(feats.slices, n_coders, q, q_source)

    point_totals = (pats.counts.astype(np.float64) @ table)[None, :]
    point = _evaluate(point_totals, ctx)

    boot: dict[str, tuple[np.ndarray, list[str | None]]] | None = None
    if want_ci and any(np.isfinite(point[name][0][0]) for name in COEFFICIENTS):
        rng = np.random.default_rng(seed)
        inverse = None
        if _index_draws_are_cheaper(n_units, pats.counts.shape[0]):
            inverse = _patterns(arr, k, need_inverse=True).inverse
        boot_totals = _bootstrap_totals(pats.counts, inverse, table, int(bootstrap), rng)
        boot = _evaluate(boot_totals, ctx)

    empty_coder = _empty_coder_reason(arr)
    tail = (1.0 - float(confidence)) / 2.0
    results: dict[str, Estimate] = {}
    for name in COEFFICIENTS:
        values, reasons = point[name]
        value = values[0]
        if not np.isfinite(value):
            reason = reasons[0] or "undefined"
            if empty_coder and reason.startswith("undefined:"):
                reason = f"{reason} ({empty_coder})"
            results[name] = Estimate(None, None, None, reason)
            continue
        note = _convention_note(name, point_totals, ctx, n_units)
        low = high = None
        if boot is not None:
            draws = boot[name][0]
            ok = np.isfinite(draws)
            n_bad = int(draws.size - ok.sum())
            if ok.any():
                lo, hi = np.quantile(draws[ok], [tail, 1.0 - tail])
                low, high = _clean(lo), _clean(hi)
            if n_bad:
                note += (
                    f"; {n_bad} of {draws.size} bootstrap resamples undefined "
                    "and excluded from the interval"
                )
        results[name] = Estimate(_clean(value), low, high, note)
    return results


def prevalence_bias(ratings2: np.ndarray) -> tuple[float | None, float | None]:
    """Prevalence and bias indices of Byrt, Bishop & Carlin (1993).

    For two coders and binary codes (0 = absent, 1 = present), over units rated by
    both (listwise): with ``a`` = both 1, ``d`` = both 0, ``b`` = coder 1 says 1
    and coder 2 says 0, ``c`` = the reverse, and ``N = a + b + c + d``:

    * prevalence index ``PI = (a - d) / N`` (``-1 .. 1``; far from 0 = one code
      dominates, which lowers kappa for a given agreement),
    * bias index ``BI = (b - c) / N`` (``-1 .. 1``; far from 0 = the coders use
      the codes with different frequencies, which raises kappa).

    Returns ``(None, None)`` when no unit was rated by both coders.
    """
    arr = _validate(ratings2)
    if arr.shape[1] != 2:
        raise AgreementError(
            f"prevalence and bias indices need exactly 2 coders, got {arr.shape[1]}"
        )
    if arr.size and int(arr.max()) > 1:
        raise AgreementError(
            "prevalence and bias indices need binary codes (0/1, -1 for missing)"
        )
    both = (arr[:, 0] >= 0) & (arr[:, 1] >= 0)
    n = int(both.sum())
    if n == 0:
        return None, None
    x, y = arr[both, 0], arr[both, 1]
    a = int(((x == 1) & (y == 1)).sum())
    d = int(((x == 0) & (y == 0)).sum())
    b = int(((x == 1) & (y == 0)).sum())
    c = int(((x == 0) & (y == 1)).sum())
    return (a - d) / n, (b - c) / n


def kappa_paradox(
    estimates: Mapping[str, Estimate],
    *, ratings: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    high_agreement: float = 0.85,
    low_kappa: float = 0.4,
) -> str | None:
    """Plain-language warning for the "kappa paradox", or ``None``.

    Fires when percent agreement is at least ``high_agreement`` while kappa
    (Cohen's for two coders, else Fleiss') is below ``low_kappa``. Such a gap
    can only arise when one category dominates the ratings (chance agreement
    above 0.75), so the message explains the skewed prevalence and points to
    Gwet's AC1 and Brennan–Prediger. ``ratings`` (the matrix given to
    :func:`compute`) and ``labels`` (from :func:`encode`) make the message name
    the dominant category and, for binary two-coder data, give the prevalence
    and bias indices.
    """
    pa = estimates.get("percent_agreement")
    if pa is None or pa.value is None:
        return None
    kappa_name = None
    for name in ("cohen_kappa", "fleiss_kappa"):
        est = estimates.get(name)
        if est is not None and est.value is not None:
            kappa_name = name
            break
    if kappa_name is None:
        return None
    kappa = estimates[kappa_name].value
    assert kappa is not None
    if not (pa.value >= high_agreement and kappa < low_kappa):
        return None

    parts = [
        f"Percent agreement is high ({pa.value:.2f}) but {DISPLAY_NAMES[kappa_name]} "
        f"is low ({kappa:.2f})."
    ]
    prevalence_text = "one code dominates the ratings"
    if ratings is not None:
        arr = _validate(ratings)
        valid = arr[arr >= 0]
        if valid.size:
            freq = np.bincount(valid)
            top = int(np.argmax(freq))
            share = freq[top] / valid.size
            label = labels[top] if labels is not None and top < len(labels) else str(top)
            prevalence_text = (
                f"one code dominates the ratings ('{label}' is {share:.0%} of all ratings)"
            )
            if arr.shape[1] == 2 and int(arr.max()) <= 1:
                pi_idx, bi_idx = prevalence_bias(arr)
                if pi_idx is not None and bi_idx is not None:
                    prevalence_text += (
                        f"; prevalence index {pi_idx:+.2f}, bias index {bi_idx:+.2f}"
                    )
    parts.append(
        f"This is the 'kappa paradox': {prevalence_text}, so the agreement expected "
        "by chance is high and kappa is pulled down even though the coders rarely "
        "disagree. Kappa is not wrong, but it answers 'how much better than chance "
        "given these marginals', which is hard to beat when a code is rare."
    )
    alternatives = []
    for name in ("gwet_ac1", "brennan_prediger"):
        est = estimates.get(name)
        if est is not None and est.value is not None:
            alternatives.append(f"{DISPLAY_NAMES[name]} ({est.value:.2f})")
    suggestion = " or ".join(alternatives) if alternatives else "Gwet's AC1 or Brennan–Prediger"
    parts.append(
        f"Report the category prevalence with kappa and consider {suggestion}, "
        "which are less sensitive to prevalence."
    )
    return " ".join(parts)
