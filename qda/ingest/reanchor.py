"""Re-anchoring of codings when a coded transcript is replaced by a revised version.

A researcher fixes typos, adds a forgotten paragraph or removes a passage after the
transcript was coded. Every coding is a span of code-point offsets into the *old* text;
:func:`reanchor` finds where each span now lives in the *new* text, and says how sure it
is, so the caller can report moved, re-anchored-with-changes and orphaned codings and
keep the orphans (flagged) instead of dropping them.

Algorithm
---------
1. **Alignment, computed once.** The old and new texts are aligned hierarchically with
   ``rapidfuzz.distance.Levenshtein.opcodes``: first line by line, then word by word
   inside the runs of lines that differ, then character by character inside the runs
   of words that differ. The result is the same kind of edit script as a character
   Levenshtein alignment, but a 100,000-character transcript with a few edits costs
   milliseconds instead of a third of a second, because only the edited regions are
   aligned at the character level. The script maps every old offset to a new one: a
   span's start is mapped *after* text inserted exactly at it and its end *before*, so
   text added around a coding is never pulled into it; an offset at the edge of a run of
   edited words maps to the edge of the replacement words (a coding ending on "coup de
   fil" ends on "coup de téléphone" once fixed), one inside such a run maps through the
   character alignment.
2. For each anchor, in order of preference:

   a. **unchanged / moved** -- the mapped span holds exactly the old text (and still
      starts and ends on a word boundary if the old span did);
   b. **moved** -- otherwise the old text is searched verbatim in the new text, and the
      occurrence nearest to the mapped position wins, which handles passages moved by
      the editor and phrases that occur several times;
   c. **changed** -- otherwise fuzzy matching: first the mapped span itself, snapped to
      word boundaries (exact for a typo fixed inside the span, or for a span that now
      crosses an edit); then ``rapidfuzz.fuzz.partial_ratio_alignment`` of the old
      text against the new text from ``window`` characters before to ``window`` after
      the mapped span, snapped to word boundaries. A candidate is accepted when
      ``fuzz.ratio`` of the old text and the candidate's text is at least ``threshold``;
   d. **orphaned** -- nothing acceptable was found.

   In (b) and (c) a candidate made mostly of text that the alignment says was already in
   the old text *somewhere else* is refused: it is another passage (the other occurrence
   of a repeated phrase, the neighbour of a deleted passage), not this coding's text.

Spans that are empty or only whitespace carry nothing to recognise: they follow the
alignment when it preserves them and are orphaned otherwise. Offsets are Python ``str``
indices, i.e. Unicode code points (the REFI-QDA convention); the caller normalises line
endings (CRLF) and Unicode before calling.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from qda.errors import IngestError, Problem
from qda.models import Coding, CodingStatus, Segment

UNCHANGED = "unchanged"
MOVED = "moved"
CHANGED = "changed"
ORPHANED = "orphaned"
STATUSES = (UNCHANGED, MOVED, CHANGED, ORPHANED)

# Coarse-to-fine units of the hierarchical alignment; characters come last.
_LEVELS = (
    re.compile(r"[^\n]*\n|[^\n]+"),  # lines, each with its newline
    re.compile(r"\w+|\s+|[^\w\s]"),  # words, whitespace runs, single punctuation marks
)
# A candidate made of more than this share of text retained from elsewhere is another passage.
_FOREIGN_SHARE = 0.5
# How many refused fuzzy candidates are masked out and searched past before giving up.
_FUZZY_RETRIES = 5
# How many verbatim occurrences are examined, nearest first, before giving up.
_EXACT_CANDIDATES = 500


@dataclass(frozen=True)
class Anchor:
    """One coded span in the old text."""

    key: int  # the caller's id, e.g. the coding row id
    start: int
    end: int


@dataclass(frozen=True)
class Reanchored:
    """Where an anchor landed in the new text, and how."""

    key: int
    status: str  # one of STATUSES
    start: int | None  # new offsets, None when orphaned
    end: int | None
    score: float  # 100 for exact, the rapidfuzz ratio for fuzzy, 0 for orphans
    old_text: str
    new_text: str  # "" for orphans


@dataclass(frozen=True)
class _Block:
    """One step of the edit script: old[a1:a2] became new[b1:b2]."""

    a1: int
    a2: int
    b1: int
    b2: int
    equal: bool


class _Script:
    """A list of edit blocks, contiguous on both sides, with binary search on either side."""

    def __init__(self, blocks: list[_Block]) -> None:
        self.blocks = blocks
        self._a_starts = [b.a1 for b in blocks]
        self._b_starts = [b.b1 for b in blocks]

    def containing(self, i: int) -> list[_Block]:
        """The blocks whose old side contains boundary ``i`` (several when it is an edge)."""
        found = []
        k = bisect.bisect_right(self._a_starts, i) - 1
        while k >= 0 and self.blocks[k].a2 >= i:
            found.append(self.blocks[k])
            k -= 1
        return found

    def overlapping_new(self, p: int, q: int) -> list[_Block]:
        """The blocks whose new side overlaps new[p:q]."""
        found = []
        k = max(bisect.bisect_right(self._b_starts, p) - 1, 0)
        while k < len(self.blocks) and self.blocks[k].b1 < q:
            found.append(self.blocks[k])
            k += 1
        return found


class _Alignment:
    """An edit script from old to new text with offset look-ups in both directions.

    Two scripts of the same alignment are kept. The coarse one has a block per run of
    edited words, the fine one a block per run of edited characters. Offsets map with the
    coarse one, so an edge of an edited run maps to the edge of its replacement: "coup de
    fil" -> "coup de téléphone" keeps the whole new word, where the fine script would stop
    after "tél" (it matched the "l" of "fil"). The fine one maps offsets that fall inside
    an edited run (a coding that starts or ends in the middle of an edit) and tells which
    characters were retained unchanged.
    """

    def __init__(self, old: str, new: str) -> None:
        coarse: list[_Block] = []
        fine: list[_Block] = []
        _align(old, new, 0, len(old), 0, len(new), 0, coarse, fine)
        self.coarse = _Script(coarse)
        self.fine = _Script(fine)

    def to_new(self, i: int, *, side: Literal["start", "end"]) -> int:
        """Map old boundary ``i`` to the new text: latest image for a start, earliest for an end."""
        images: list[int] = []
        for blk in self.coarse.containing(i):
            if blk.a1 == blk.a2:  # insertion at i: i maps to anywhere in it
                images += [blk.b1, blk.b2]
            elif blk.equal:
                images.append(blk.b1 + i - blk.a1)
            elif i in (blk.a1, blk.a2):
                images.append(blk.b1 if i == blk.a1 else blk.b2)
            else:
                images.append(self._inside(i, side))
        if not images:  # both texts empty
            return 0
        return max(images) if side == "start" else min(images)

    def _inside(self, i: int, side: Literal["start", "end"]) -> int:
        """Map a boundary inside an edited run with the character script."""
        images: list[int] = []
        for blk in self.fine.containing(i):
            if blk.a1 == blk.a2:
                images += [blk.b1, blk.b2]
            else:  # proportional inside a substitution, exact inside an equal run
                images.append(blk.b1 + round((i - blk.a1) * (blk.b2 - blk.b1) / (blk.a2 - blk.a1)))
        return max(images) if side == "start" else min(images)

    def foreign_share(self, p: int, q: int, start: int, end: int) -> float:
        """Share of new[p:q] that is old text retained unchanged from outside old[start:end]."""
        if q <= p:
            return 0.0
        foreign = 0
        for blk in self.fine.overlapping_new(p, q):
            lo, hi = max(p, blk.b1), min(q, blk.b2)
            if not blk.equal or hi <= lo:
                continue
            old_lo, old_hi = lo - blk.b1 + blk.a1, hi - blk.b1 + blk.a1
            own = max(0, min(old_hi, end) - max(old_lo, start))
            foreign += (hi - lo) - own
        return foreign / (q - p)


def _align(old: str, new: str, a1: int, a2: int, b1: int, b2: int, level: int,
           coarse: list[_Block], fine: list[_Block]) -> None:
    """Append the edit script of old[a1:a2] -> new[b1:b2], refined level by level.

    Equal runs and pure insertions or deletions go to both scripts; a run of edited
    words goes to ``coarse`` whole and to ``fine`` character by character.
    """
    if a1 == a2 or b1 == b2:
        if a1 < a2 or b1 < b2:
            coarse.append(_Block(a1, a2, b1, b2, False))
            fine.append(coarse[-1])
        return
    if level == len(_LEVELS):
        coarse.append(_Block(a1, a2, b1, b2, False))
        for op in Levenshtein.opcodes(old[a1:a2], new[b1:b2]):
            if op.src_start < op.src_end or op.dest_start < op.dest_end:
                fine.append(_Block(a1 + op.src_start, a1 + op.src_end, b1 + op.dest_start,
                                   b1 + op.dest_end, op.tag == "equal"))
        return
    pattern = _LEVELS[level]
    old_units = pattern.findall(old, a1, a2)
    new_units = pattern.findall(new, b1, b2)
    old_at = _offsets(old_units, a1)
    new_at = _offsets(new_units, b1)
    pending: list[int] | None = None  # unit range [i1, i2, j1, j2] of a run of differences
    for op in Levenshtein.opcodes(old_units, new_units):
        if op.tag != "equal":
            if pending is None:
                pending = [op.src_start, op.src_end, op.dest_start, op.dest_end]
            else:  # adjacent differences are refined together: a replace next to an insert
                pending[1], pending[3] = op.src_end, op.dest_end
            continue
        if pending is not None:
            _align(old, new, old_at[pending[0]], old_at[pending[1]], new_at[pending[2]],
                   new_at[pending[3]], level + 1, coarse, fine)
            pending = None
        coarse.append(_Block(old_at[op.src_start], old_at[op.src_end], new_at[op.dest_start],
                             new_at[op.dest_end], True))
        fine.append(coarse[-1])
    if pending is not None:
        _align(old, new, old_at[pending[0]], old_at[pending[1]], new_at[pending[2]],
               new_at[pending[3]], level + 1, coarse, fine)


def _offsets(units: list[str], base: int) -> list[int]:
    """Start offset of every unit, plus the end of the last one."""
    at = [base]
    for unit in units:
        at.append(at[-1] + len(unit))
    return at


def _is_word(char: str) -> bool:
    """Letters, digits and combining marks make words (accents may be decomposed)."""
    return char.isalnum() or unicodedata.category(char).startswith("M")


def _at_boundary(text: str, i: int) -> bool:
    """Whether offset ``i`` does not cut a word in two."""
    return i <= 0 or i >= len(text) or not (_is_word(text[i - 1]) and _is_word(text[i]))


def _snap(text: str, start: int, end: int, *, snap_start: bool, snap_end: bool,
          trim_start: bool, trim_end: bool) -> tuple[int, int]:
    """Move a fuzzy span's ends to the nearest word boundary, then trim its whitespace.

    Each end goes to whichever boundary is nearer: a span that starts one letter into a
    word (the fixed typo was its first letter) takes the whole word, one that starts with
    the last letter of the previous word drops it.
    """
    if snap_start and not _at_boundary(text, start):
        left = start
        while not _at_boundary(text, left):
            left -= 1
        right = start
        while not _at_boundary(text, right):
            right += 1
        start = left if start - left <= right - start or right >= end else right
    if snap_end and not _at_boundary(text, end):
        right = end
        while not _at_boundary(text, right):
            right += 1
        left = end
        while not _at_boundary(text, left):
            left -= 1
        end = right if right - end <= end - left or left <= start else left
    while trim_start and start < end and text[start].isspace():
        start += 1
    while trim_end and end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class _Anchoring:
    """The per-anchor search, sharing the texts and the alignment."""

    def __init__(self, old: str, new: str, threshold: float, window: int) -> None:
        self.old = old
        self.new = new
        self.threshold = threshold
        self.window = window
        self.alignment = _Alignment(old, new)

    def place(self, anchor: Anchor) -> Reanchored:
        """Re-anchor one span: mapped exact, exact elsewhere, fuzzy, or orphaned."""
        old_text = self.old[anchor.start:anchor.end]
        start = self.alignment.to_new(anchor.start, side="start")
        end = max(start, self.alignment.to_new(anchor.end, side="end"))
        if self.new[start:end] == old_text and (not old_text
                                                or self._keeps_boundaries(anchor, start, end)):
            same = (start, end) == (anchor.start, anchor.end)
            return self._result(anchor, UNCHANGED if same else MOVED, start, end, 100.0)
        if not old_text.strip():
            return self._orphan(anchor)
        found = self._exact_elsewhere(anchor, old_text, start)
        if found is not None:
            same = found == anchor.start
            return self._result(anchor, UNCHANGED if same else MOVED, found,
                                found + len(old_text), 100.0)
        fuzzy = self._fuzzy(anchor, old_text, start, end)
        if fuzzy is not None:
            return self._result(anchor, CHANGED, *fuzzy)
        return self._orphan(anchor)

    def _keeps_boundaries(self, anchor: Anchor, start: int, end: int) -> bool:
        """A verbatim candidate must not cut a word where the old span did not."""
        return ((not _at_boundary(self.old, anchor.start) or _at_boundary(self.new, start))
                and (not _at_boundary(self.old, anchor.end) or _at_boundary(self.new, end)))

    def _is_foreign(self, anchor: Anchor, start: int, end: int) -> bool:
        """Whether new[start:end] is mostly another passage retained from the old text."""
        return self.alignment.foreign_share(start, end, anchor.start, anchor.end) > _FOREIGN_SHARE

    def _exact_elsewhere(self, anchor: Anchor, old_text: str, near: int) -> int | None:
        """Start of the verbatim occurrence nearest to ``near`` that is not another passage."""
        new, size = self.new, len(old_text)
        after = new.find(old_text, near)
        before = new.rfind(old_text, 0, near + size - 1) if near + size - 1 >= 0 else -1
        for _ in range(_EXACT_CANDIDATES):
            if after < 0 and before < 0:
                return None
            take_after = before < 0 or (after >= 0 and after - near <= near - before)
            candidate = after if take_after else before
            if (self._keeps_boundaries(anchor, candidate, candidate + size)
                    and not self._is_foreign(anchor, candidate, candidate + size)):
                return candidate
            if take_after:
                after = new.find(old_text, after + 1)
            else:
                before = new.rfind(old_text, 0, before + size - 1) if before > 0 else -1
        return None

    def _fuzzy(self, anchor: Anchor, old_text: str, start: int,
               end: int) -> tuple[int, int, float] | None:
        """Best acceptable edited version of the span: the mapped span, then the neighbourhood."""
        if end > start:
            accepted = self._accept(anchor, old_text, start, end)
            if accepted is not None:
                return accepted
        lo, hi = max(0, start - self.window), min(len(self.new), end + self.window)
        haystack = self.new[lo:hi]
        for _ in range(_FUZZY_RETRIES):
            found = fuzz.partial_ratio_alignment(old_text, haystack)
            if found is None or found.dest_end <= found.dest_start:
                return None
            accepted = self._accept(anchor, old_text, lo + found.dest_start, lo + found.dest_end)
            if accepted is not None:
                return accepted
            # Mask the refused stretch (a NUL never matches transcript text) and look again.
            haystack = (haystack[:found.dest_start] + "\0" * (found.dest_end - found.dest_start)
                        + haystack[found.dest_end:])
        return None

    def _accept(self, anchor: Anchor, old_text: str, start: int,
                end: int) -> tuple[int, int, float] | None:
        """Snap a candidate and keep it if it is similar enough and not another passage."""
        start, end = _snap(
            self.new, start, end,
            snap_start=_at_boundary(self.old, anchor.start),
            snap_end=_at_boundary(self.old, anchor.end),
            trim_start=not old_text[:1].isspace(), trim_end=not old_text[-1:].isspace())
        if end <= start:
            return None
        score = fuzz.ratio(old_text, self.new[start:end])
        if score < self.threshold or self._is_foreign(anchor, start, end):
            return None
        return start, end, score

    def _result(self, anchor: Anchor, status: str, start: int, end: int,
                score: float) -> Reanchored:
        return Reanchored(anchor.key, status, start, end, float(score),
                          self.old[anchor.start:anchor.end], self.new[start:end])

    def _orphan(self, anchor: Anchor) -> Reanchored:
        return Reanchored(anchor.key, ORPHANED, None, None, 0.0,
                          self.old[anchor.start:anchor.end], "")


def reanchor(old_text: str, new_text: str, anchors: Sequence[Anchor], *,
             threshold: float = 80.0, window: int = 2000) -> list[Reanchored]:
    """Re-anchor coded spans of ``old_text`` onto ``new_text``, one result per anchor, in order.

    ``threshold`` is the minimum ``rapidfuzz.fuzz.ratio`` (0-100) between a coding's old
    text and an edited candidate; ``window`` is how many characters around the mapped
    position the fuzzy search looks. Raises IngestError if an anchor does not fit in the
    old text (the stored codings and text disagree: nothing can be re-anchored safely).
    """
    if not 0 <= threshold <= 100:
        raise ValueError(f"threshold must be between 0 and 100, not {threshold}")
    if window < 0:
        raise ValueError(f"window must not be negative, not {window}")
    bad = [Problem(f"coding {a.key}", f"offsets {a.start}-{a.end} do not fit the old text "
                   f"(0-{len(old_text)})", "the project's codings and text disagree")
           for a in anchors if not 0 <= a.start <= a.end <= len(old_text)]
    if bad:
        raise IngestError("cannot re-anchor codings whose offsets do not fit the old text", bad)
    if not anchors:
        return []
    anchoring = _Anchoring(old_text, new_text, threshold, window)
    return [anchoring.place(anchor) for anchor in anchors]


def by_status(results: Sequence[Reanchored]) -> dict[str, list[Reanchored]]:
    """Group results by status, every status present (for the re-import report)."""
    groups: dict[str, list[Reanchored]] = {status: [] for status in STATUSES}
    for result in results:
        groups[result.status].append(result)
    return groups


def moved_codings(codings: Sequence[Coding], moves: Sequence[Reanchored], segments: Sequence[Segment]) -> list[Coding]:
    """The stored codings (keyed by id in ``moves``) on their new spans and ``segments``.

    Orphans keep an empty span, flagged. A coding that covered a whole segment (from a
    coding sheet) covers the whole new segment it lands on, so sheets and agreement keep
    working on segments.
    """
    by_id = {c.id: c for c in codings}
    whole = {c.id for c in codings if c.segment is not None}
    moved: list[Coding] = []
    for move in moves:
        coding = by_id[move.key]
        if move.start is None or move.end is None:
            moved.append(replace(coding, start=0, end=0, segment=None, status="orphaned"))
            continue
        best, overlap = None, 0
        for seg in segments:
            common = min(move.end, seg.end) - max(move.start, seg.start)
            if common > overlap:
                best, overlap = seg, common
        start, end = (best.start, best.end) if best is not None and move.key in whole else (move.start, move.end)
        moved.append(replace(coding, start=start, end=end, segment=best.ref if best is not None else None,
                             status=CodingStatus.OK if move.status in ("unchanged", "moved") else move.status))
    return moved


# ----------------------------------------------------------------------------- passages without offsets

#: Characters that tools change on export: typographic quotes and dashes, non-breaking spaces.
_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                       "\u00a0": " ", "\u2026": "..."})


@dataclass(frozen=True)
class Located:
    """Where a passage quoted without offsets (a Taguette highlight, a PDF region's text) lies.

    ``status``: "exact" (found verbatim once), "normalised" (found once ignoring white space,
    case, typographic quotes and dashes), "fuzzy" (best partial match, ``score`` 0-100),
    "ambiguous" (``count`` places fit equally: never guessed) or "missing".
    """

    status: Literal["exact", "normalised", "fuzzy", "ambiguous", "missing"]
    start: int | None = None
    end: int | None = None
    score: float = 100.0
    count: int = 0


def _occurrences(text: str, passage: str, limit: int = 3) -> list[int]:
    found: list[int] = []
    at = text.find(passage)
    while at >= 0 and len(found) < limit:
        found.append(at)
        at = text.find(passage, at + 1)
    return found


@lru_cache(maxsize=8)  # one document's text, searched for each of its highlights
def _folded(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` without white space, case-folded, quotes and dashes unified; and for each
    character of the result, its offset in ``text``."""
    chars: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        if char.isspace() or char in "\u200b\u200c\u200d\ufeff":
            continue
        for piece in char.translate(_FOLD).casefold():
            if not piece.isspace():
                chars.append(piece)
                where.append(i)
    return "".join(chars), tuple(where)


def find_passage(text: str, passage: str, *, threshold: float = 90.0) -> Located:
    """Place a quoted ``passage`` in ``text``: exactly, then normalised, then fuzzily.

    A passage found more than once at the first level that finds it is "ambiguous": the
    caller reports it instead of choosing. The fuzzy level takes the best
    ``rapidfuzz.fuzz.partial_ratio_alignment`` of at least ``threshold``, snapped to word
    boundaries, unless another place scores as well.
    """
    passage = passage.strip()
    if not passage:
        return Located("missing")
    exact = _occurrences(text, passage)
    if len(exact) == 1:
        return Located("exact", exact[0], exact[0] + len(passage), 100.0, 1)
    if exact:
        return Located("ambiguous", count=len(exact))
    folded, where = _folded(text)
    needle, _ = _folded(passage)
    if not needle:
        return Located("missing")
    loose = _occurrences(folded, needle)
    if len(loose) == 1:
        start, end = where[loose[0]], where[loose[0] + len(needle) - 1] + 1
        return Located("normalised", start, end, 100.0, 1)
    if loose:
        return Located("ambiguous", count=len(loose))
    best = fuzz.partial_ratio_alignment(needle, folded, score_cutoff=threshold)
    if best is None or best.dest_end <= best.dest_start:
        return Located("missing")
    # the same passage elsewhere, as good: the text left and right of the match searched again
    for lo, hi in ((0, best.dest_start), (best.dest_end, len(folded))):
        other = fuzz.partial_ratio_alignment(needle, folded[lo:hi], score_cutoff=threshold) \
            if hi - lo >= len(needle) // 2 else None
        if other is not None and other.score >= best.score - 0.5:
            return Located("ambiguous", score=best.score, count=2)
    start, end = where[best.dest_start], where[best.dest_end - 1] + 1
    start, end = _snap(text, start, end, snap_start=True, snap_end=True, trim_start=True, trim_end=True)
    return Located("fuzzy", start, end, round(best.score, 1), 1)
