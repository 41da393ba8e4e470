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
*units* (the stretches the coder gave a value: spans of one value that overlap are
merged, spans that only touch stay two units) and gaps. With ``m`` coders,

* observed coincidences ``l_ck = Σ_i Σ_{j≠i} Σ_g Σ_h |s_ig ∩ s_jh| [v_ig=c][v_jh=k] / (m − 1)``
  (characters of value c of one coder that another coder gave value k),
* expected coincidences ``e_ck = (l_c. l_.k − [c=k] S_c) / (l.. − S / l..)`` where
  ``S_c`` sums the squared lengths of the units of value c (a gap φ counts its
  length, not its square: a gap is not a unit and may be cut anywhere) and
  ``S = Σ_c S_c``,
* ``α = 1 − Σ_{c≠k} l_ck / Σ_{c≠k} e_ck`` (nominal difference: any two values differ).

From it:

``uα`` (:func:`unitizing_alpha_nominal`)
    values = the codes and φ together; for comparison with publications only (it
    needs one value per character and coder).
``|cuα`` (binary, one code)
    values {code c, φ}: does every coder mark the same stretches as c? ATLAS.ti's
    "α-binary" of a code. Pooled over codes: ``1 − Σ_c D_o,c / Σ_c D_e,c``.
``cuα`` (coding, across codes)
    values = the codes, φ left out: where coders' coded stretches overlap, do they
    give them the same code? A unit enters the correction with its share of the
    coincidences, ``Σ_{j≠i} |s_ig ∩ valued by j| / (m − 1)`` (each value another
    coder gave a character counts), so that the shares of the units of value c add
    up to ``l_c.`` as the lengths do for uα.
``Cuα`` (coding, across domains)
    as cuα with every code replaced by its top-level ancestor (the "semantic
    domain" of ATLAS.ti).

These conventions reproduce Krippendorff's (2019, Fig. 12.11) published uα, |uα
and cuα (``tests/test_unitizing.py``). Two or more coders; a coder may give one
stretch several codes (each counts: for cuα and Cuα a character coded twice by one
coder is paired once per code, which ATLAS.ti refuses inside one domain).

:func:`alpha_1995` is Krippendorff's earlier per-category uα (1995; 2004, §11.6),
with squared boundary differences; it is kept for comparison with publications
that report it.

Bootstrap: percentile intervals over *documents* drawn with replacement (the
coincidences are sums over documents, so a resample is a weighted sum of per-document
features, computed for every resample at once). With few documents there is
too little to resample: below :data:`MIN_DOCUMENTS` documents no interval is given.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qda.agreement.coefficients import Estimate
from qda.errors import AgreementError

__all__ = ["MIN_DOCUMENTS", "CoderSpans", "UnitizingResult", "alpha_1995", "unitizing_alpha",
           "unitizing_alpha_nominal"]

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


# ----------------------------------------------------------------------------- units

@dataclass(frozen=True)
class _Pieces:
    """One document cut at every boundary of every span: elementary pieces with constant coverage.

    ``cover[i, v, p]`` tells whether coder i gave value v to piece p, the characters
    ``cuts[p]`` to ``cuts[p + 1]`` (``width[p]`` of them).
    """

    cuts: np.ndarray  # P + 1
    width: np.ndarray  # P
    cover: np.ndarray  # m x V x P bool


Spans = tuple[np.ndarray, np.ndarray, np.ndarray]  # value, start, end of one coder's spans in one document


def _pieces(spans: Sequence[Spans], n_values: int, length: int) -> _Pieces:
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
    return _Pieces(cuts, width, covered)


def _units(value: np.ndarray, start: np.ndarray, end: np.ndarray, length: int) -> Spans:
    """A coder's units: spans of one value that overlap merge into one; spans that only touch stay two.

    Krippendorff (2019, Fig. 12.11) keeps a coder's adjacent units of one value apart
    (one coder marks 33-44 as three units of value 6, another as one): they are two
    decisions, and the expected coincidences count each unit's squared length.
    """
    if not len(value):
        return value, start, end
    # Shift each value to its own stretch of the number line so one running maximum serves all values.
    offset = value * (length + 1)
    order = np.lexsort((start, value))
    s, e, v = start[order] + offset[order], end[order] + offset[order], value[order]
    reach = np.maximum.accumulate(e)
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] >= reach[:-1]  # starts at or after everything before it ends: a unit of its own
    first = np.flatnonzero(new)
    unit_end = np.maximum.reduceat(e, first)
    return v[first], s[first] - offset[order][first], unit_end - offset[order][first]


def _unit_sums(pieces: _Pieces, units: Spans, weight: np.ndarray, n_values: int) -> np.ndarray:
    """Per value, the sum over units of (Σ over the unit's pieces of ``weight``)² (one coder)."""
    value, start, end = units
    cum = np.concatenate([[0.0], np.cumsum(weight)])
    inside = cum[np.searchsorted(pieces.cuts, end)] - cum[np.searchsorted(pieces.cuts, start)]
    return np.bincount(value, weights=inside * inside, minlength=n_values)


# ----------------------------------------------------------------------------- features

def _binary_features(pieces: _Pieces, units: Sequence[Spans], length: int) -> np.ndarray:
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
    squares = sum((_unit_sums(pieces, u, w, n_codes) for u in units), np.zeros(n_codes))
    gaps = l0  # a gap enters with its length
    return np.stack([2.0 * (l1 - l11), l0, l1, np.full(n_codes, float(m * length)), squares + gaps], axis=1)


def _binary_alpha(totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|uα and its expected disagreement (scaled like the observed one) from summed features (... x 5)."""
    off, l0, l1, n, s = (totals[..., i] for i in range(5))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = 2.0 * l0 * l1 / (n - s / n)
        value = 1.0 - off / expected
    return value, expected


def _grouped_cover(pieces: _Pieces, values: np.ndarray, n_values: int) -> np.ndarray:
    """``cover`` with every code replaced by its value (``values[code]``, negative: left out)."""
    m = pieces.cover.shape[0]
    grouped = np.zeros((m, n_values, pieces.cover.shape[2]), dtype=bool)
    for code, value in enumerate(values.tolist()):
        if value >= 0:
            grouped[:, value] |= pieces.cover[:, code]
    return grouped


def _coincidence_features(pieces: _Pieces, grouped: np.ndarray, units: Sequence[Spans],
                          gap: np.ndarray | None = None) -> np.ndarray:
    """Coincidences of ``grouped`` (m x V x P) on one document: [n, trace, rows (V), S] (additive).

    A unit enters S with its share of the coincidences: the characters other coders
    gave a value, counted once per value and divided by m − 1 (for cuα, where a gap
    pairs with nothing, a unit only partly met by other coders' units counts that part;
    with every character valued it is the unit's length). ``gap`` (m x P), when given,
    is the value φ: it pairs like a value but enters S with its length, not its square.
    """
    m, n_values, _ = grouped.shape
    w = pieces.width.astype(np.float64)
    a = grouped.astype(np.float64)
    if gap is not None:
        a = np.concatenate([a, gap[:, None, :].astype(np.float64)], axis=1)
    total = a.sum(axis=0)  # V x P: coders giving value v to piece p
    # l_ck = Σ_{i≠j} Σ_p w_p a_icp a_jkp / (m − 1). The i = j terms as one stacked matrix product:
    # einsum cost 0.1 ms a call, 0.24 s for 1,000 documents; whole numbers, so the sums are exact in any order.
    cross = (total * w) @ total.T - np.matmul(a * w, a.transpose(0, 2, 1)).sum(axis=0)
    cross /= m - 1
    others = a.sum(axis=1)
    others = others.sum(axis=0)[None, :] - others  # m x P: values other coders gave the piece
    share = w[None, :] * others / (m - 1)
    squares = float(sum(_unit_sums(pieces, u, share[i], n_values).sum() for i, u in enumerate(units)))
    if gap is not None:
        squares += float((gap * w).sum())
    return np.concatenate([[cross.sum(), np.trace(cross)], cross.sum(axis=1), [squares]])


def _coding_alpha(totals: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """cuα (or uα) and its expected disagreement from summed coincidence features (... x (V + 3))."""
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


def _documents(spans: Sequence[CoderSpans], sizes: np.ndarray, n_codes: int) -> Iterator[tuple[int, int, list[Spans]]]:
    """Per document: its index, length and each coder's (code, start, end) clipped to it, empty spans dropped."""
    n_docs = len(sizes)
    for coder in spans:
        bad = (coder.document < 0) | (coder.document >= n_docs) | (coder.code < 0) | (coder.code >= n_codes)
        if bad.any():
            raise AgreementError(f"{int(bad.sum())} span(s) name a code or document outside the data")
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
        yield d, length, per_coder


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
    domain_of = np.arange(n_codes) if domains is None else np.asarray(domains, dtype=np.int64)
    n_domains = int(domain_of.max(initial=-1)) + 1
    binary = np.zeros((n_docs, n_codes, 5))
    coding = np.zeros((n_docs, n_codes + 3))
    domain = np.zeros((n_docs, n_domains + 3))
    coded = np.zeros((m, n_codes), dtype=np.int64)
    for d, length, per_coder in _documents(spans, sizes, n_codes):
        pieces = _pieces(per_coder, n_codes, length)
        coded += (pieces.cover * pieces.width).sum(axis=2)
        binary[d] = _binary_features(pieces, [_units(*c, length) for c in per_coder], length)
        coding[d] = _coincidence_features(pieces, pieces.cover, [_units(*c, length) for c in per_coder])
        as_domains = [_units(domain_of[v][domain_of[v] >= 0], s[domain_of[v] >= 0], e[domain_of[v] >= 0], length)
                      for v, s, e in per_coder]
        domain[d] = _coincidence_features(pieces, _grouped_cover(pieces, domain_of, n_domains), as_domains)
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
        "gaps enter the expected coincidences with their length, units with their squared length "
        "(a coder's overlapping spans of one code are one unit, touching spans two)",
        "|cuα: one code against uncoded text; pooled: 1 − ΣDo/ΣDe over the codes",
        "cuα / Cuα: which code / domain, over the characters coded by two coders or more; "
        "a unit weighs its share of those coincidences",
        f"95% intervals: percentile bootstrap over documents, {bootstrap} resamples, seed {seed}"
        if bootstrap else "no confidence intervals (bootstrap 0)",
    )
    return UnitizingResult(per_code, pooled, cu, cu_domains, tuple(tuple(int(x) for x in row) for row in coded.T),
                           conventions)


def unitizing_alpha_nominal(spans: Sequence[CoderSpans], lengths: Sequence[int], n_codes: int) -> float | None:
    """Krippendorff's uα over the codes and the gap φ together (2016; 2019, §12.6.3), or None when undefined.

    Every character carries one value per coder: the code the coder gave it, or φ.
    This is the first coefficient of the 2016 family; ``qda agree`` does not report it
    because qda lets a coder give one stretch several codes, and then a character has
    no single value. It is kept for comparison with publications, and refuses such
    data (:class:`AgreementError`, naming the coder and the document).
    """
    m = len(spans)
    if m < 2:
        raise AgreementError("unitizing alpha needs at least two coders")
    sizes = np.asarray(lengths, dtype=np.int64).reshape(-1)
    totals = np.zeros(n_codes + 4)
    for d, length, per_coder in _documents(spans, sizes, n_codes):
        pieces = _pieces(per_coder, n_codes, length)
        values = pieces.cover.sum(axis=1)  # m x P: codes each coder gave each piece
        twice = (values > 1) & (pieces.width > 0)
        if twice.any():
            coder = int(np.flatnonzero(twice.any(axis=1))[0])
            raise AgreementError(f"coder {coder} gives characters of document {d} two codes; the nominal uα "
                                 "needs one value per character (use |uα per code and cuα instead)")
        totals += _coincidence_features(pieces, pieces.cover, [_units(*c, length) for c in per_coder],
                                        gap=values == 0)
    value, expected = _coding_alpha(totals, n_codes + 1)
    return None if not np.isfinite(expected) or expected <= 0 else float(value)


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
