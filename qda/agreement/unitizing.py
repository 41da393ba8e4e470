"""Krippendorff's alpha for unitizing: agreement on spans of a character continuum.

Coders who select their own passages do not share units, so the coefficients of
:mod:`qda.agreement.coefficients` (units x coders tables) do not apply without
inventing units. The uα family measures agreement on the continuum itself: every
character of every document, for every pair of coders.

Input (columns, no object per coding): for each coder, the code index, document
index, start and end (``end`` exclusive, character offsets) of every coding, plus
the length of every document. Each document is a continuum of its own; the
coefficients add the documents' coincidences (a gap never runs from one document
into the next).

Definitions (Krippendorff, Mathet, Bouvry & Widlöcher 2016; Krippendorff 2019,
§12.6), in the notation of ``docs/coefficients/unitizing-alpha.md``. For a set of
values (codes, or "coded" against the gap φ), each coder's continuum is cut into
*segments*: maximal stretches the coder gave one value, and gaps. With ``m``
coders,

* observed coincidences ``l_ck = Σ_i Σ_{j≠i} Σ_g Σ_h |s_ig ∩ s_jh| [v_ig=c][v_jh=k] / (m − 1)``
  (characters of value c of one coder that another coder gave value k),
* expected coincidences ``e_ck = (l_c. l_.k − [c=k] S_c) / (l.. − S / l..)`` where
  ``S_c`` sums the squared lengths of the segments of value c (a gap φ counts its
  length, not its square: a gap is not a unit and may be cut anywhere) and
  ``S = Σ_c S_c``,
* ``α = 1 − Σ_{c≠k} l_ck / Σ_{c≠k} e_ck`` (nominal difference: any two values differ).

From it:

``|cuα`` (binary, one code)
    values {code c, φ}: does every coder mark the same stretches as c? ATLAS.ti's
    "α-binary" of a code. Pooled over codes: ``1 − Σ_c D_o,c / Σ_c D_e,c``.
``cuα`` (coding, across codes)
    values = the codes, φ left out: where coders' coded stretches overlap, do they
    give them the same code? Segments count with their *pairable* length (the part
    of them other coders also coded) in the correction.
``Cuα`` (coding, across domains)
    as cuα with every code replaced by its top-level ancestor (the "semantic
    domain" of ATLAS.ti).

Two or more coders; a coder may give one stretch several codes (each counts: for
cuα and Cuα a character coded twice by one coder is paired once per code, which
ATLAS.ti refuses inside one domain). Overlapping spans of one code by one coder
are merged first.

:func:`alpha_1995` is Krippendorff's earlier per-category uα (1995; 2004, §11.6),
with squared boundary differences; it is kept for comparison with publications
that report it.

Bootstrap: percentile intervals over *documents* drawn with replacement (the
coincidences are sums over documents, so a resample is a weighted sum of per-document
features, computed for every resample at once). With few documents there is
too little to resample: below :data:`MIN_DOCUMENTS` documents no interval is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qda.agreement.coefficients import Estimate
from qda.errors import AgreementError

__all__ = ["MIN_DOCUMENTS", "CoderSpans", "UnitizingResult", "alpha_1995", "unitizing_alpha"]

#: Fewer documents than this give no interval: resampling two or three documents says nothing.
MIN_DOCUMENTS = 5


@dataclass(frozen=True)
class CoderSpans:
    """One coder's codings as columns: code index, document index, start, end (exclusive)."""

    code: np.ndarray
    document: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @classmethod
    def of(cls, code: Sequence[int], document: Sequence[int], start: Sequence[int],
           *, end: Sequence[int]) -> CoderSpans:
        """Columns from plain sequences (int64 arrays, checked to have one length)."""
        arrays = [np.asarray(x, dtype=np.int64).reshape(-1) for x in (code, document, start, end)]
        if len({len(a) for a in arrays}) != 1:
            raise AgreementError("code, document, start and end must have the same length")
        return cls(*arrays)


@dataclass(frozen=True)
class UnitizingResult:
    """The uα family on a set of documents: per code, pooled, and across codes."""

    codes: tuple[Estimate, ...]  # |cuα of each code, in the order of the code indices
    pooled: Estimate  # |uα pooled over the codes
    coding: Estimate  # cuα: which code, where coded stretches overlap
    domains: Estimate  # Cuα: which domain (top-level code)
    coded: tuple[tuple[int, ...], ...] = ()  # characters each coder coded, per code
    conventions: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"codes": [e.to_dict() for e in self.codes], "pooled": self.pooled.to_dict(),
                "cu_alpha": self.coding.to_dict(), "Cu_alpha": self.domains.to_dict(),
                "coded_characters": [list(c) for c in self.coded], "conventions": list(self.conventions)}


# ----------------------------------------------------------------------------- segments

@dataclass(frozen=True)
class _Pieces:
    """One document cut at every boundary of every span: elementary pieces with constant coverage.

    ``cover[i, v, p]`` tells whether coder i gave value v to piece p (``width[p]`` characters).
    """

    width: np.ndarray  # P
    cover: np.ndarray  # m x V x P bool


def _pieces(spans: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], n_values: int, length: int) -> _Pieces:
    """Cut one document at all span boundaries; ``spans`` is per coder (value, start, end), clipped."""
    bounds = [np.array([0, length], dtype=np.int64)]
    for _, s, e in spans:
        bounds += [s, e]
    cuts = np.unique(np.concatenate(bounds))
    width = np.diff(cuts)
    cover = np.zeros((len(spans), n_values, len(width) + 1), dtype=np.int64)
    for i, (v, s, e) in enumerate(spans):
        # +1 at a span's first piece, -1 after its last: a running sum marks the covered pieces.
        np.add.at(cover[i], (v, np.searchsorted(cuts, s)), 1)
        np.add.at(cover[i], (v, np.searchsorted(cuts, e)), -1)
    covered = np.cumsum(cover, axis=2)[:, :, :-1] > 0
    return _Pieces(width, covered)


def _run_squares(flags: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per row of ``flags`` (rows x P): the sum over maximal runs of true pieces of (Σ weight)².

    ``weight`` is per piece (P) or per row and piece (rows x P)."""
    rows, n = flags.shape
    if n == 0:
        return np.zeros(rows)
    padded = np.zeros((rows, n + 2), dtype=np.int8)
    padded[:, 1:-1] = flags
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 after it ends
    cum = np.zeros((rows, n + 1))
    cum[:, 1:] = np.cumsum(np.where(flags, weight, 0.0), axis=1)
    r_start, c_start = np.nonzero(edges == 1)
    _r_end, c_end = np.nonzero(edges == -1)  # same row order, one end per start
    run = cum[r_start, c_end] - cum[r_start, c_start]
    out = np.zeros(rows)
    np.add.at(out, r_start, run * run)
    return out


# ----------------------------------------------------------------------------- features

def _binary_features(pieces: _Pieces, length: int) -> np.ndarray:
    """Per code, the additive features of |cuα on one document: [l_off, l_0., l_1., n, S]."""
    m, n_codes, _ = pieces.cover.shape
    w = pieces.width.astype(np.float64)
    coded = pieces.cover.astype(np.float64) * w  # m x V x P, characters
    size = coded.sum(axis=2)  # m x V: |U_i|
    # Σ_{i≠j} |U_i ∩ U_j| = Σ_p w_p (k_p² − k_p), k_p = coders covering the piece.
    k = pieces.cover.sum(axis=0).astype(np.float64)  # V x P
    pairs = (w * (k * k - k)).sum(axis=1)  # V
    l11 = pairs / (m - 1)
    l1 = size.sum(axis=0)
    l0 = m * length - l1
    squares = _run_squares(pieces.cover.reshape(m * n_codes, -1), w).reshape(m, n_codes).sum(axis=0)
    gaps = l0  # a gap enters with its length
    return np.stack([2.0 * (l1 - l11), l0, l1, np.full(n_codes, float(m * length)), squares + gaps], axis=1)


def _binary_alpha(totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|uα and its expected disagreement (scaled like the observed one) from summed features (... x 5)."""
    off, l0, l1, n, s = (totals[..., i] for i in range(5))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = 2.0 * l0 * l1 / (n - s / n)
        value = 1.0 - off / expected
    return value, expected


def _coding_features(pieces: _Pieces, values: np.ndarray, n_values: int) -> np.ndarray:
    """cuα on one document over ``values`` (code -> value index): [n*, trace, rows (V), S*] (additive)."""
    m = pieces.cover.shape[0]
    w = pieces.width.astype(np.float64)
    grouped = np.zeros((m, n_values, pieces.cover.shape[2]), dtype=bool)
    for code, value in enumerate(values.tolist()):
        if value >= 0:
            grouped[:, value] |= pieces.cover[:, code]
    a = grouped.astype(np.float64)
    total = a.sum(axis=0)  # V x P: coders giving value v to piece p
    # l_ck = Σ_{i≠j} Σ_p w_p a_icp a_jkp / (m − 1)
    cross = (total * w) @ total.T - np.einsum("ivp,ikp,p->vk", a, a, w)
    cross /= m - 1
    # A segment counts with its pairable part: the characters some other coder coded (any value).
    anyone = grouped.any(axis=1)  # m x P
    others = anyone.sum(axis=0)[None, :] - anyone  # m x P: other coders with a value there
    pairable = np.where(others > 0, w, 0.0)
    # A run is cut by coverage and weighed by its pairable characters.
    squares = _run_squares(grouped.reshape(m * n_values, -1), np.repeat(pairable, n_values, axis=0))
    rows = cross.sum(axis=1)
    return np.concatenate([[cross.sum(), np.trace(cross)], rows, [squares.sum()]])


def _coding_alpha(totals: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """cuα and its expected disagreement from summed coding features (... x (V + 3))."""
    n, trace = totals[..., 0], totals[..., 1]
    rows = totals[..., 2 : 2 + n_values]
    s = totals[..., 2 + n_values]
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = (n * n - (rows * rows).sum(axis=-1)) / (n - s / n)
        value = 1.0 - (n - trace) / expected
    return value, expected


# ----------------------------------------------------------------------------- bootstrap

def _estimate(features: np.ndarray, evaluate: Any, bootstrap: int, seed: int,
              confidence: float, what: str) -> Estimate:
    """Point value and percentile interval over documents of ``evaluate`` on per-document ``features``."""
    value, expected = evaluate(features.sum(axis=0))
    value, expected = float(value), float(expected)
    if not np.isfinite(expected) or expected <= 0:
        return Estimate(None, None, None, f"undefined: no expected disagreement ({what})")
    if not np.isfinite(value):
        return Estimate(None, None, None, f"undefined: {what}")
    docs = features.shape[0]
    if bootstrap <= 0:
        return Estimate(value, None, None, "no interval (bootstrap 0)")
    if docs < MIN_DOCUMENTS:
        return Estimate(value, None, None, f"no interval: {docs} document(s); the bootstrap resamples documents "
                                           f"and needs {MIN_DOCUMENTS} at least")
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(docs, np.full(docs, 1.0 / docs), size=bootstrap).astype(np.float64)
    boot, boot_expected = evaluate(np.tensordot(draws, features, axes=(1, 0)))
    ok = np.isfinite(boot) & (boot_expected > 0)
    note = f"percentile bootstrap over {docs} documents"
    if not ok.any():
        return Estimate(value, None, None, note + "; every resample undefined")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot[ok], [tail, 1.0 - tail])
    if not ok.all():
        note += f"; {int((~ok).sum())} of {bootstrap} resamples undefined and excluded"
    return Estimate(value, float(low), float(high), note)


def unitizing_alpha(spans: Sequence[CoderSpans], lengths: Sequence[int], n_codes: int,
                    *, domains: Sequence[int] | None = None, bootstrap: int = 1000, seed: int = 12345,
                    confidence: float = 0.95, groups: Sequence[int] | None = None) -> UnitizingResult:
    """The uα family of ``spans`` (one :class:`CoderSpans` per coder) on documents of ``lengths``.

    ``domains`` maps each code index to its domain index (its top-level code) for Cuα;
    without it Cuα equals cuα. Spans are clipped to their document; empty ones are
    ignored. Undefined coefficients are ``Estimate(None, ...)`` with the reason.
    ``groups`` gives each continuum ("document" above) the index of what the bootstrap
    draws (several stretches of one interview are drawn together); default: each its own.
    """
    m = len(spans)
    if m < 2:
        raise AgreementError("unitizing alpha needs at least two coders")
    if not 0.0 < confidence < 1.0:
        raise AgreementError(f"confidence must be between 0 and 1, got {confidence}")
    sizes = np.asarray(lengths, dtype=np.int64).reshape(-1)
    n_docs = len(sizes)
    for coder in spans:
        bad = (coder.document < 0) | (coder.document >= n_docs) | (coder.code < 0) | (coder.code >= n_codes)
        if bad.any():
            raise AgreementError(f"{int(bad.sum())} span(s) name a code or document outside the data")
    domain_of = np.arange(n_codes) if domains is None else np.asarray(domains, dtype=np.int64)
    n_domains = int(domain_of.max(initial=-1)) + 1
    binary = np.zeros((n_docs, n_codes, 5))
    coding = np.zeros((n_docs, n_codes + 3))
    domain = np.zeros((n_docs, n_domains + 3))
    coded = np.zeros((m, n_codes), dtype=np.int64)
    by_doc = [np.argsort(c.document, kind="stable") for c in spans]
    bounds = [np.searchsorted(c.document[o], np.arange(n_docs + 1)) for c, o in zip(spans, by_doc)]
    for d in range(n_docs):
        length = int(sizes[d])
        per_coder = []
        for c, order, b in zip(spans, by_doc, bounds):
            rows = order[b[d] : b[d + 1]]
            s = np.clip(c.start[rows], 0, length)
            e = np.clip(c.end[rows], 0, length)
            keep = e > s
            per_coder.append((c.code[rows][keep], s[keep], e[keep]))
        pieces = _pieces(per_coder, n_codes, length)
        coded += (pieces.cover * pieces.width).sum(axis=2)
        binary[d] = _binary_features(pieces, length)
        coding[d] = _coding_features(pieces, np.arange(n_codes), n_codes)
        domain[d] = _coding_features(pieces, domain_of, n_domains)
    if groups is not None:
        group_of = np.asarray(groups, dtype=np.int64).reshape(-1)
        if len(group_of) != n_docs or (n_docs and group_of.min() < 0):
            raise AgreementError("groups must give one non-negative index per document")
        n_groups = int(group_of.max(initial=-1)) + 1
        binary, coding, domain = (_grouped(x, group_of, n_groups) for x in (binary, coding, domain))
    # Each figure draws from its own seed (code k: seed + k, as the unit-based coefficients do).
    per_code = tuple(_estimate(binary[:, k], _binary_alpha, bootstrap, seed + k, confidence,
                               "no coder applied the code" if not coded[:, k].any()
                               else "the code covers every character")
                     for k in range(n_codes))

    def pooled_alpha(totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, expected = _binary_alpha(totals)
        off = totals[..., 0]
        scale = totals[..., 3]
        do = (off / scale).sum(axis=-1)
        de = (np.where(np.isfinite(expected), expected, 0.0) / scale).sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - do / de, de

    pooled = _estimate(binary, pooled_alpha, bootstrap, seed, confidence, "no code was applied")
    cu = _estimate(coding, lambda t: _coding_alpha(t, n_codes), bootstrap, seed + n_codes, confidence,
                   "coded stretches never overlap, or all carry one code")
    cu_domains = _estimate(domain, lambda t: _coding_alpha(t, n_domains), bootstrap, seed + n_codes + 1, confidence,
                           "coded stretches never overlap, or all carry one domain")
    conventions = (
        "uα family (Krippendorff et al. 2016): every character of every document, coder pairs; "
        "gaps enter the expected coincidences with their length, coded stretches with their squared length",
        "|cuα: one code against uncoded text; pooled: 1 − ΣDo/ΣDe over the codes",
        "cuα / Cuα: which code / domain, over the characters coded by two coders or more",
        f"95% intervals: percentile bootstrap over documents, {bootstrap} resamples, seed {seed}"
        if bootstrap else "no confidence intervals (bootstrap 0)",
    )
    return UnitizingResult(per_code, pooled, cu, cu_domains, tuple(tuple(int(x) for x in row) for row in coded.T),
                           conventions)


def _grouped(features: np.ndarray, group_of: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-continuum features summed by group (the coincidences are sums, so this is exact)."""
    out = np.zeros((n_groups, *features.shape[1:]))
    np.add.at(out, group_of, features)
    return out


# ----------------------------------------------------------------------------- 1995 / 2004

def alpha_1995(units: Sequence[Sequence[tuple[int, int]]], begin: int, end: int) -> tuple[float | None, float, float]:
    """Krippendorff's per-category uα (1995; 2004, §11.6) on the continuum ``[begin, end)``.

    ``units`` holds, per coder, the (start, end) of the stretches given the category
    (no overlap within a coder). Returns (alpha, observed, expected disagreement);
    alpha is None when the expected disagreement is 0. Pairs of overlapping units
    differ by their squared boundary differences; a unit inside the other coder's gap
    by its squared length.
    """
    m, length = len(units), end - begin
    if m < 2:
        raise AgreementError("unitizing alpha needs at least two coders")
    segs = []
    for coder in units:
        cur, parts = begin, []
        for s, e in sorted(coder):
            if s > cur:
                parts.append((cur, s, False))
            parts.append((s, e, True))
            cur = e
        if cur < end:
            parts.append((cur, end, False))
        segs.append(np.array([(s, e, u) for s, e, u in parts], dtype=np.int64).reshape(-1, 3))
    observed = 0.0
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            a, b = segs[i][:, None, :], segs[j][None, :, :]
            sa, ea, ua = a[..., 0], a[..., 1], a[..., 2].astype(bool)
            sb, eb, ub = b[..., 0], b[..., 1], b[..., 2].astype(bool)
            both = ua & ub & (sa - sb > -(ea - sa)) & (sa - sb < eb - sb)
            inside_gap = ua & ~ub & (sa >= sb) & (ea <= eb)
            gap_around = ~ua & ub & (sb >= sa) & (eb <= ea)
            d = np.where(both, (sa - sb) ** 2 + (ea - eb) ** 2, 0)
            d = d + np.where(inside_gap, (ea - sa) ** 2, 0) + np.where(gap_around, (eb - sb) ** 2, 0)
            observed += float(d.sum())
    observed /= m * (m - 1) * length * length
    every = np.concatenate(segs)
    lens = (every[:, 1] - every[:, 0]).astype(np.float64)
    unit_len, gap_len = lens[every[:, 2] == 1], lens[every[:, 2] == 0]
    n_units = len(unit_len)
    fits = np.clip(gap_len[None, :] - unit_len[:, None] + 1, 0, None).sum(axis=1)
    numerator = ((n_units - 1) * (2 * unit_len**3 - 3 * unit_len**2 + unit_len) / 3 + unit_len**2 * fits).sum()
    denominator = m * length * (m * length - 1) - (unit_len * (unit_len - 1)).sum()
    expected = 2.0 / length * numerator / denominator if denominator else 0.0
    alpha = None if expected <= 0 else 1.0 - observed / expected
    return alpha, observed, expected
