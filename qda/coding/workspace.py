"""Manual coding in the browser workspace: validate and plan one coding at a time.

Everything here is pure: it takes the codebook, the document and its segments, and
returns the model objects to store (or raises a QdaError naming what is wrong). Offsets
are code points into the stored, normalised document text, exactly like REFI-QDA
selections and the codings made from sheets.

Password hashes, roles and sessions of workspace accounts live in :mod:`qda.coding.accounts`.
"""

from __future__ import annotations

import re
import uuid
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from qda.analysis import Retrieval
from qda.coding.sheets import check_coder_name
from qda.errors import AccessError, DuplicateCodingError, InvalidCodingError, NeedsConfirmation, NotFoundError, Problem
from qda.ingest.languages import direction
from qda.models import Case, Code, Codebook, Coding, Document, Memo, Segment, color_problem, is_counted
from qda.results import Column, Note, Row, TableView, json_dict

if TYPE_CHECKING:
    import pandas as pd
from qda.store import now

SNAPS = ("none", "word", "segment")
MAX_MEMO = 20_000
_WORD = re.compile(r"\w", re.UNICODE)


def _offset(value: Any, name: str) -> int:
    # bool is an int in Python; a JSON true is not an offset
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCodingError(f"'{name}' must be an integer offset (code points), not {value!r}")
    return value


def check_code(codebook: Codebook, code: Any) -> str:
    """A known, codable code id (the id, not a label)."""
    if not isinstance(code, str) or not code:
        raise InvalidCodingError("'code' must be a code id of the codebook")
    try:
        found = codebook.code(code)
    except KeyError:
        raise InvalidCodingError(
            f"unknown code '{code}'", [Problem("code", f"'{code}' is not in the codebook '{codebook.name}'",
                                               "codes are added in the YAML codebook, then: qda codebook load FILE")]
        ) from None
    if not found.codable:
        raise InvalidCodingError(f"code '{code}' is a folder: code one of its sub-codes")
    return code


def check_span(text: str, start: Any, end: Any) -> tuple[int, int]:
    """Integers with 0 <= start < end <= len(text); a span of blanks only is refused."""
    start, end = _offset(start, "start"), _offset(end, "end")
    if start < 0 or end > len(text):
        raise InvalidCodingError(f"span {start}-{end} is outside the document (0-{len(text)})")
    if start >= end:
        raise InvalidCodingError(f"span {start}-{end}: start must be before end")
    if not text[start:end].strip():
        raise InvalidCodingError(f"span {start}-{end} holds only blanks")
    return start, end


def snap_span(text: str, segments: Sequence[Segment], start: int, *, end: int, snap: str = "none") -> tuple[int, int]:
    """Trim blanks at both ends; then widen to whole words or whole segments when asked."""
    if snap not in SNAPS:
        raise InvalidCodingError(f"unknown snap '{snap}' (use one of: {', '.join(SNAPS)})")
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if snap == "word":
        while start > 0 and _WORD.match(text[start - 1]) and _WORD.match(text[start]):
            start -= 1
        while end < len(text) and _WORD.match(text[end]) and _WORD.match(text[end - 1]):
            end += 1
    elif snap == "segment":
        touched = [s for s in segments if s.start < end and s.end > start]
        if touched:
            start, end = min(start, touched[0].start), max(end, touched[-1].end)
    return start, end


def turn_labels(text: str, segments: Sequence[Segment], start: int, *, end: int) -> list[str]:
    """The speaker labels (``Répondant :``) that the span ``start``-``end`` covers, in order.

    A label is the text at the start of a line, before the first segment of a turn, that no
    segment holds. A span that covers one either crosses from one speaker's turn into the next
    or takes the label itself as data: the workspace asks before storing it. Paragraphs
    without speaker labels (an essay, field notes) give no label, so coding across them is
    never flagged. ``segments``: at least those from the start of the line of ``start`` to a
    little past ``end`` (labels are short), in reading order.
    """
    found: list[str] = []
    for seg in segments:
        line = text.rfind("\n", 0, seg.start) + 1
        if line >= seg.start or not (start < seg.start and end > line):
            continue
        if any(other.start < seg.start and other.end > line for other in segments if other is not seg):
            continue  # an earlier sentence of the same line, not a label
        label = text[line:seg.start].strip()
        if label and text[max(start, line):min(end, seg.start)].strip():
            found.append(label)
    return found


def check_turns(text: str, segments: Sequence[Segment], coding: Coding, *, confirmed: bool) -> Coding:
    """Refuse (until ``confirmed``) a coding that covers a speaker label, so that a passage
    running from one speaker into the next is never stored by a slip of the mouse."""
    labels = [] if confirmed else turn_labels(text, segments, coding.start, end=coding.end)
    if labels:
        quoted = ", ".join(f"'{label}'" for label in labels)
        turns = {s.turn for s in segments if s.start < coding.end and s.end > coding.start}
        what = "runs across a speaker turn" if len(turns) > 1 else "covers a speaker label"
        raise NeedsConfirmation(
            f"this passage {what} ({quoted}); code it anyway?", "across_turns",
            [Problem(f"{coding.document} {coding.start}-{coding.end}", f"covers the speaker label {quoted}",
                     "select within one speaker's turn, or confirm to code it as it is")])
    return coding


def label_window(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of text whose segments :func:`turn_labels` needs for ``start``-``end``."""
    return max(0, text.rfind("\n", 0, start)), min(len(text), end + 200)


def segment_of(segments: Sequence[Segment], start: int, end: int) -> str | None:
    """The ref of the segment the span equals exactly (so sheets and segment agreement see it)."""
    for seg in segments:
        if seg.start == start and seg.end == end:
            return seg.ref
    return None


def _memo(memo: Any) -> str:
    if memo is None:
        return ""
    if not isinstance(memo, str):
        raise InvalidCodingError("'memo' must be text")
    if len(memo) > MAX_MEMO:
        raise InvalidCodingError(f"memo too long ({len(memo)} characters, at most {MAX_MEMO})")
    return memo


def plan_coding(codebook: Codebook, document: Document | None, segments: Sequence[Segment], *, coder: str,
                code: Any, start: Any, end: Any, memo: Any = None, snap: str = "none") -> Coding:
    """A new manual coding of ``document`` by ``coder``, checked; not stored yet."""
    coder = check_coder_name(coder)
    if document is None:
        raise NotFoundError("unknown document")
    code = check_code(codebook, code)
    start, end = check_span(document.text, start, end)
    start, end = check_span(document.text, *snap_span(document.text, segments, start, end=end, snap=snap))
    return Coding(coder=coder, code=code, document=document.name, case=document.case, start=start, end=end,
                  segment=segment_of(segments, start, end), text=document.text[start:end], source="workspace",
                  note=_memo(memo))


def check_not_twice(planned: Coding, existing: Sequence[Coding]) -> Coding:
    """Refuse a coding the coder already has (same code, same span): it would count twice in
    matrices and agreement. ``existing``: the coder's codings of the document, the one being
    changed left out."""
    for c in existing:
        if c.id != planned.id and (c.coder, c.code, c.start, c.end) == (planned.coder, planned.code, planned.start,
                                                                           planned.end):
            raise DuplicateCodingError(f"you already coded this passage with '{planned.code}'; nothing was changed")
    return planned


def check_owner(coding: Coding | None, coder: str) -> Coding:
    """The coding, when ``coder`` may change it; NotFoundError when it is absent or another
    coder's, with the same words, so the answer does not tell which (no existence oracle)."""
    if coding is None or coding.coder != coder:
        raise NotFoundError("no such coding of yours")
    return coding


def plan_change(codebook: Codebook, document: Document, segments: Sequence[Segment], *, coding: Coding,
                changes: dict[str, Any], snap: str = "none") -> Coding:
    """``coding`` with ``changes`` (code, start, end, memo) applied and checked."""
    unknown = sorted(set(changes) - {"code", "start", "end", "memo"})
    if unknown:
        raise InvalidCodingError(f"cannot change {', '.join(unknown)} (only code, start, end, memo)")
    code = check_code(codebook, changes["code"]) if "code" in changes else coding.code
    start, end = coding.start, coding.end
    if "start" in changes or "end" in changes:
        start, end = check_span(document.text, changes.get("start", start), changes.get("end", end))
        start, end = check_span(document.text, *snap_span(document.text, segments, start, end=end, snap=snap))
    note = _memo(changes["memo"]) if "memo" in changes else coding.note
    changed = replace(coding, code=code, start=start, end=end, segment=segment_of(segments, start, end),
                      text=document.text[start:end], note=note, status="ok")
    if (changed.code, changed.start, changed.end, changed.note) == (coding.code, coding.start, coding.end,
                                                                      coding.note):
        return changed
    # who changed it last and when, as REFI-QDA exports say (modifyingUser, modifiedDateTime)
    return replace(changed, modified_by=coding.coder, modified_at=now())


# ----------------------------------------------------------------------------- accounts

def check_user_name(name: str) -> str:
    """Account names are coder names: a user codes as the coder of the same name."""
    return check_coder_name(name)


# ----------------------------------------------------------------------------- finding things again

def passage_rows(retrieval: Retrieval, codings: Sequence[Coding], texts: dict[str, str],
                 *, context: int = 150) -> list[dict[str, Any]]:
    """The passages of a retrieval as the workspace lists them: one row per passage (its
    codes joined in ``code``), with ``context`` characters around it, the coder's other codes overlapping it and the
    memos of the codings it comes from.

    The passages themselves come from :func:`qda.analysis.retrieve`, so that a query gives
    the same passages in the browser as ``qda retrieve`` (``all`` is the text coded with
    every code, ``not`` drops passages sharing a character with an excluded code).
    """
    by_unit: dict[tuple[str, str], list[Coding]] = {}
    for c in codings:
        by_unit.setdefault((c.coder, c.document), []).append(c)
    rows = []
    for p in retrieval.passages:
        near = [c for c in by_unit.get((p.coder, p.document), ()) if c.start < p.end and c.end > p.start]
        memos = list(dict.fromkeys(c.note for c in near if c.note and c.code in p.codes
                                   and c.start <= p.start and c.end >= p.end))
        own = [c for c in near if c.code in p.codes and (c.start, c.end) == (p.start, p.end)]
        text = texts[p.document]
        rows.append({"id": own[0].id if len(own) == 1 else None, "coder": p.coder, "code": ", ".join(p.codes),
                     "codes": list(p.codes), "document": p.document, "case": p.case, "segment": p.segment,
                     "start": p.start, "end": p.end, "text": p.text,
                     "before": text[max(0, p.start - context):p.start], "after": text[p.end:p.end + context],
                     "overlapping": sorted({c.code for c in near} - set(p.codes)), "memo": " / ".join(memos)})
    return rows


def search_text(documents: Sequence[Document], query: str, *, regex: bool = False, context: int = 80,
                limit: int = 2000) -> SearchHits:
    """Keyword in context: every match of ``query`` (case-insensitive), at code-point offsets
    (the first ``limit``)."""
    if not query.strip():
        raise InvalidCodingError("type something to search for")
    import regex as regex_module

    from qda.regexes import RegexTimeout, compile_user, spans

    try:
        pattern = compile_user(query if regex else regex_module.escape(query))
    except regex_module.error as exc:
        raise InvalidCodingError(f"bad regular expression: {exc}") from None
    hits: list[dict[str, Any]] = []
    # one time budget for the whole search (qda.regexes): a runaway pattern is stopped with a
    # message, and other users' requests are answered meanwhile
    found = spans(pattern, [doc.text for doc in documents], f"the regular expression '{query}'")
    try:
        matched = list(zip(documents, found))
    except RegexTimeout as exc:
        raise InvalidCodingError(str(exc)) from None
    for doc, matches in matched:
        for start, end in matches:
            hits.append({"document": doc.name, "case": doc.case, "start": start, "end": end,
                         "match": doc.text[start:end], "before": doc.text[max(0, start - context):start],
                         "after": doc.text[end:end + context]})
            if len(hits) >= limit:
                return SearchHits(query, regex, tuple(hits), limit)
    return SearchHits(query, regex, tuple(hits), limit)


# ----------------------------------------------------------------------------- memos

MEMO_KINDS = ("document", "code", "case")


def plan_memo(kind: Any, target: Any, text: Any, *, author: str, known: set[str]) -> Memo:
    """A memo by ``author`` on a document, a code or a case (``known``: the names of that kind)."""
    if kind not in MEMO_KINDS:
        raise InvalidCodingError(f"a memo is about one of: {', '.join(MEMO_KINDS)} (a coding's memo is its 'memo')")
    if not isinstance(target, str) or target not in known:
        raise NotFoundError(f"unknown {kind} '{target}'")
    text = _memo(text)
    if not text.strip():
        raise InvalidCodingError("the memo is empty")
    # a GUID of its own from the start: REFI-QDA exports refer to the memo by it
    return Memo(text=text, target_kind=kind, target=target, author=author, name=f"{kind} {target}",
                guid=str(uuid.uuid4()))


def edited_memo(memo: Memo, text: str, author: str) -> Memo:
    """``memo`` with a new ``text``, marked as last changed by ``author`` now (the same text:
    the memo as it was, so that saving without a change does not date it)."""
    if text == memo.text:
        return memo
    return replace(memo, text=text, modified_by=author, modified_at=now())


def check_memo_author(memo: Memo | None, author: str) -> Memo:
    """The memo, when ``author`` wrote it; NotFoundError alike when absent or another's."""
    if memo is None or memo.author != author:
        raise NotFoundError("no such memo of yours")
    return memo


# ----------------------------------------------------------------------------- what the page shows
# The decisions behind the workspace's views (blind mode, coverage, turns), kept here so that
# the web layer only renders and any other front end decides the same way.

def shown(coding: Coding) -> bool:
    """Whether the workspace shows and counts a coding of a coder it names (``STATUS_RULES``):
    negated and orphaned codings stay in the project but are not the coder's codes on the page."""
    return is_counted(coding, coder_named=True)


def effective_blind(project_blind: bool, unblind_server: bool) -> bool:
    """Blind mode for a request: the project's setting (``qda blind on|off``), unless the
    server was started with ``--unblind``; never inferred from who has coded."""
    return project_blind and not unblind_server


def names(value: str | None) -> list[str]:
    """``"a, b;c"`` -> ``["a", "b", "c"]`` (each name once, in order)."""
    return list(dict.fromkeys(v.strip() for v in (value or "").replace(";", ",").split(",") if v.strip()))


def visible_coders(is_blind: bool, me: str, params: Mapping[str, str]) -> list[str]:
    """The coders whose codings a request asks for (``coders=a,b`` or ``coder=a``; default:
    the session's coder). In blind mode asking for anyone else is refused (NotFoundError: what
    may not be seen is answered as if it were not there)."""
    asked = names(params.get("coders")) or names(params.get("coder")) or [me]
    others = [name for name in asked if name != me]
    if others and is_blind:
        raise NotFoundError(f"blind mode: the codings of {', '.join(repr(o) for o in others)} are hidden until the "
                            "lead lifts it (qda blind off)")
    return asked


def retrieval_coders(is_blind: bool, me: str, asked: str | None, *, every: Sequence[str]) -> list[str]:
    """Whose passages a retrieval reads: ``asked`` (``*`` for every coder), the session's coder
    by default; another coder's only with blind mode lifted."""
    asked = asked or me
    if asked != me and is_blind:
        raise NotFoundError("blind mode: you can retrieve only your own codings until the lead lifts it")
    return list(every) if asked == "*" else [asked]


def memo_author_filter(is_blind: bool, me: str, asked: str | None = None) -> str | None:
    """Whose memos a reader sees: in blind mode their own only (asking for another author is
    refused as not found); otherwise ``asked`` (None: everyone's)."""
    if is_blind and asked not in (None, me):
        raise NotFoundError("blind mode: you see only your own memos until the lead lifts it")
    return me if is_blind else asked


def check_unblinded(is_blind: bool) -> None:
    """Refuse while blind mode is on: comparing coders, adjudicating, renaming and merging
    codes all show other coders' work."""
    if is_blind:
        raise AccessError("this shows other coders' work: it needs blind mode lifted ('qda blind off', "
                          "or qda serve --unblind)")


def check_review_access(is_blind: bool, me: str, training_coder: str) -> None:
    """Blind mode: a model learnt from another coder's codings shows that coder's judgement (its
    suggestions, and the passages that coder coded), so only the coder it learnt from reviews
    it until the lead lifts blind mode (``qda serve --unblind``). The one place this rule lives."""
    if is_blind and training_coder != me:
        raise AccessError(f"blind mode: this model learnt from {training_coder}'s codings; review it as "
                          f"{training_coder}, or after the lead lifts blind mode (qda serve --unblind)")


def listed_coders(accounts: bool, is_blind: bool, me: str | None, *, every: Sequence[str]) -> list[str]:
    """The coder names the page offers: on a network in blind mode not even the other coders'
    names (on localhost the user picks one of them, so all are listed)."""
    return [me] if accounts and is_blind and me else list(every)


def coded_segment_count(segments: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> int:
    """How many of ``segments`` overlap at least one of ``spans`` (start, end pairs).

    A bisection per segment over the spans sorted by start, with the furthest end reached
    so far: testing every span against every segment took 7 s of the document list for a
    coder with 2,000 codings on a 3,000-segment transcript (bench/serve.py).
    """
    ordered = sorted(spans)
    starts = [start for start, _ in ordered]
    reach = list(accumulate((end for _, end in ordered), max))
    count = 0
    for start, end in segments:
        last = bisect_left(starts, end) - 1  # the last span starting before the segment ends
        if last >= 0 and reach[last] > start:
            count += 1
    return count


def document_coverage(documents: Sequence[Document], cases: Sequence[Case], segments: Sequence[Segment],
                      *, codings: Sequence[Coding], coder: str) -> DocumentList:
    """The document list: per document its case attributes, words, segments, how many segments
    ``coder`` has coded and each visible coder's number of codings (``codings``: those the
    reader may see; the ones not shown on the page are left out here)."""
    attributes = {c.name: c.attributes for c in cases}
    spans: dict[str, list[tuple[int, int]]] = {}
    for seg in segments:
        spans.setdefault(seg.document, []).append((seg.start, seg.end))
    per: dict[str, dict[str, int]] = {}
    mine: dict[str, list[tuple[int, int]]] = {}
    for c in filter(shown, codings):
        counts = per.setdefault(c.document, {})
        counts[c.coder] = counts.get(c.coder, 0) + 1
        if c.coder == coder:
            mine.setdefault(c.document, []).append((c.start, c.end))
    rows = []
    for d in documents:
        own = spans.get(d.name, [])
        rows.append(CoveredDocument(d.name, d.case, dict(attributes.get(d.case, {})), len(d.text.split()), len(own),
                                    coded_segment_count(own, mine.get(d.name, [])), per.get(d.name, {})))
    return DocumentList(coder, tuple(rows))


def turn_groups(segments: Sequence[Segment]) -> list[dict[str, Any]]:
    """Consecutive segments of one speaker turn grouped, as the page lays the transcript out:
    each turn with its speaker, role, span and segments (ref, start, end)."""
    turns: list[dict[str, Any]] = []
    for s in segments:
        if not turns or turns[-1]["turn"] != s.turn:
            turns.append({"turn": s.turn, "speaker": s.speaker, "role": s.role, "start": s.start,
                          "end": s.end, "segments": []})
        turns[-1]["end"] = s.end
        turns[-1]["segments"].append({"ref": s.ref, "start": s.start, "end": s.end})
    return turns


def code_counts(codings: Sequence[Coding]) -> dict[str, int]:
    """How many shown codings each code has (the picker's counts)."""
    counts: dict[str, int] = {}
    for c in filter(shown, codings):
        counts[c.code] = counts.get(c.code, 0) + 1
    return counts


# ----------------------------------------------------------------------------- results of the page

def coding_dict(c: Coding) -> dict[str, Any]:
    """A coding as the workspace reads it (its ``memo`` is the coding's note)."""
    return {"id": c.id, "coder": c.coder, "code": c.code, "document": c.document, "case": c.case,
            "start": c.start, "end": c.end, "segment": c.segment, "text": c.text, "memo": c.note,
            "source": c.source, "status": c.status, "created_at": c.created_at,
            "name": c.name, "modified_by": c.modified_by, "modified_at": c.modified_at}


def _rows_frame(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([{c: ", ".join(r[c]) if isinstance(r[c], list) else r[c] for c in columns} for r in rows],
                        columns=list(columns))


def _rows_table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> TableView:
    return TableView(title, tuple(Column(c, c in ("start", "end")) for c in columns),
                     tuple(Row(tuple(", ".join(r[c]) if isinstance(r[c], list) else r[c] for c in columns))
                           for r in rows), lines=True)


@dataclass(frozen=True)
class CoveredDocument:
    """One row of the workspace's document list: the document's case and its attributes, its
    size, how many of its segments the session's coder has coded, and each visible coder's
    number of codings."""

    name: str
    case: str
    attributes: dict[str, str]
    words: int
    segments: int
    coded_segments: int
    codings: dict[str, int]  # coder -> codings shown on the page


DOCUMENT_COLUMNS = ("name", "case", "words", "segments", "coded_segments", "codings")


@dataclass(frozen=True)
class DocumentList:
    """The workspace's document list (``GET /api/documents``) for ``coder``: per document its
    coverage by that coder and the counts of the coders the reader may see."""

    coder: str
    documents: tuple[CoveredDocument, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def _rows(self) -> list[tuple[str, str, int, int, int, int]]:
        return [(d.name, d.case, d.words, d.segments, d.coded_segments, sum(d.codings.values()))
                for d in self.documents]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self._rows(), columns=list(DOCUMENT_COLUMNS))

    def to_table(self) -> TableView:
        return TableView(f"{len(self.documents)} document(s), coverage by {self.coder}",
                         tuple(Column(c, c not in ("name", "case")) for c in DOCUMENT_COLUMNS),
                         tuple(Row(r) for r in self._rows()))


def memo_dict(m: Memo) -> dict[str, Any]:
    """A memo as the workspace reads it (``about``: what kind of thing it is on)."""
    return {"id": m.id, "about": m.target_kind, "target": m.target, "text": m.text, "author": m.author,
            "created_at": m.created_at, "modified_by": m.modified_by, "modified_at": m.modified_at}


# each coding's text is a slice of the document's text, and its case the document's: not sent
# again for each of (possibly thousands of) codings
_SLICED = ("text", "case", "source")


@dataclass(frozen=True)
class WorkspaceDocument:
    """One document as the workspace lays it out (``GET /api/documents/{name}``): its text and
    turns, its case's attributes, the memos about it and the codings of ``coders`` (the first
    is the one the page edits), each without the fields the page reads from the document."""

    document: Document
    attributes: dict[str, str]
    turns: tuple[dict[str, Any], ...]
    coders: tuple[str, ...]
    codings: tuple[Coding, ...]
    memos: tuple[Memo, ...]

    def to_dict(self) -> dict[str, Any]:
        doc = self.document
        return json_dict({"name": doc.name, "case": doc.case, "language": doc.language, "text": doc.text,
                          "direction": direction(doc.language),  # the transcript's dir: rtl for Arabic, Hebrew…
                          "length": len(doc.text), "attributes": self.attributes, "turns": list(self.turns),
                          "coder": self.coders[0] if self.coders else None, "coders": list(self.coders),
                          "memos": [memo_dict(m) for m in self.memos],
                          "codings": [{k: v for k, v in coding_dict(c).items() if k not in _SLICED}
                                      for c in self.codings]})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        columns = ["coder", "code", "start", "end", "segment", "text", "memo"]
        return pd.DataFrame([(c.coder, c.code, c.start, c.end, c.segment, c.text, c.note) for c in self.codings],
                            columns=columns)

    def to_table(self) -> TableView:
        return TableView(f"{self.document.name} ({self.document.case}): {len(self.codings)} coding(s) of "
                         f"{', '.join(self.coders) or 'nobody'}",
                         (Column("coder"), Column("code"), Column("start", True), Column("end", True),
                          Column("text")),
                         tuple(Row((c.coder, c.code, c.start, c.end, c.text)) for c in self.codings), lines=True)


@dataclass(frozen=True)
class WorkspaceCoding:
    """One coding as the workspace answers it (made, read, changed or deleted): :func:`coding_dict`."""

    coding: Coding

    def to_dict(self) -> dict[str, Any]:
        return json_dict(coding_dict(self.coding))

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def to_table(self) -> TableView:
        c = self.coding
        return TableView(lead=(Note(f"coding {c.id}: {c.coder} coded {c.document} {c.start}-{c.end} with {c.code}"),))


@dataclass(frozen=True)
class WorkspaceMemo:
    """One memo as the workspace answers it (written, changed or deleted): :func:`memo_dict`."""

    memo: Memo

    def to_dict(self) -> dict[str, Any]:
        return json_dict(memo_dict(self.memo))

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def to_table(self) -> TableView:
        m = self.memo
        return TableView(lead=(Note(f"memo {m.id} by {m.author} on {m.target_kind} {m.target}: {m.text}"),))


@dataclass(frozen=True)
class MemoList:
    """Memos about one document, code or case, as the workspace lists them (``GET /api/memos``)."""

    memos: tuple[Memo, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"memos": [memo_dict(m) for m in self.memos]})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        columns = ["id", "about", "target", "author", "created_at", "text"]
        return pd.DataFrame([(m.id, m.target_kind, m.target, m.author, m.created_at, m.text) for m in self.memos],
                            columns=columns)

    def to_table(self) -> TableView:
        return TableView(f"{len(self.memos)} memo(s)", (Column("author"), Column("created_at"), Column("text")),
                         tuple(Row((m.author, m.created_at, m.text)) for m in self.memos), lines=True)


@dataclass(frozen=True)
class RemovedCodings:
    """Codings deleted in one write (the workspace's undo of coded search hits)."""

    codings: tuple[Coding, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"deleted": [coding_dict(c) for c in self.codings]})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([(c.id, c.coder, c.code, c.document, c.start, c.end) for c in self.codings],
                            columns=["id", "coder", "code", "document", "start", "end"])

    def to_table(self) -> TableView:
        return TableView(f"{len(self.codings)} coding(s) deleted",
                         (Column("coder"), Column("code"), Column("document"), Column("start", True),
                          Column("end", True)),
                         tuple(Row((c.coder, c.code, c.document, c.start, c.end)) for c in self.codings))


CODEBOOK_RULE = ("The YAML codebook is the source of truth: add a code with 'New code' in the picker (it is written "
                 "into the file), or edit the file, run 'qda codebook load FILE.yaml' and reload this page.")


def code_row(code: Code, count: int) -> dict[str, Any]:
    """A code as the workspace's picker lists it, with the reader's number of codings of it."""
    return {"id": code.id, "labels": dict(code.labels), "category": code.category, "parent": code.parent,
            "definition": code.definition, "include": code.include, "exclude": code.exclude,
            # a project loaded before colours were checked may hold CSS in disguise
            "color": code.color if code.color and color_problem(code.color) is None else None,
            "codable": code.codable, "count": count}


def _code_frame(rows: Sequence[dict[str, Any]], lang: str | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    labels = [r["labels"].get(lang or "") or next(iter(r["labels"].values()), r["id"]) for r in rows]
    return (["id", "label", "category", "parent", "codable", "count"],
            [(r["id"], label, r["category"], r["parent"], r["codable"], r["count"]) for r, label in zip(rows, labels)])


@dataclass(frozen=True)
class WorkspaceCodebook:
    """The codebook as the workspace's code picker reads it (``GET /api/codebook``): categories,
    codes and the reader's number of shown codings of each code."""

    codebook: Codebook
    counts: dict[str, int]

    def _rows(self) -> list[dict[str, Any]]:
        return [code_row(c, self.counts.get(c.id, 0)) for c in self.codebook.codes]

    def to_dict(self) -> dict[str, Any]:
        book = self.codebook
        return json_dict({"name": book.name, "languages": list(book.languages),
                          "categories": [{"id": c.id, "labels": dict(c.labels), "parent": c.parent,
                                          "description": c.description} for c in book.categories],
                          "codes": self._rows(), "rule": CODEBOOK_RULE})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        columns, rows = _code_frame(self._rows(), self.codebook.default_language)
        return pd.DataFrame(rows, columns=columns)

    def to_table(self) -> TableView:
        columns, rows = _code_frame(self._rows(), self.codebook.default_language)
        return TableView(f"codebook {self.codebook.name}", tuple(Column(c, c == "count") for c in columns),
                         tuple(Row(r) for r in rows))


@dataclass(frozen=True)
class NewCode:
    """A code added while coding (``POST /api/codes``), as the picker lists codes, with what was done."""

    code: Code
    message: str

    def to_dict(self) -> dict[str, Any]:
        return json_dict({**code_row(self.code, 0), "message": self.message})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        columns, rows = _code_frame([code_row(self.code, 0)], None)
        return pd.DataFrame(rows, columns=columns)

    def to_table(self) -> TableView:
        return TableView(lead=(Note(self.message),))


@dataclass(frozen=True)
class MemoOverview:
    """Every memo and coding memo a reader may see, newest first (``GET /api/memo-overview``):
    rows of :meth:`qda.project.Project.memo_overview`; ``blind``: only the reader's own."""

    blind: bool
    memos: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"blind": self.blind, "memos": [dict(m) for m in self.memos]})

    def to_frame(self) -> pd.DataFrame:
        return _rows_frame(self.memos, MEMO_OVERVIEW_COLUMNS)

    def to_table(self) -> TableView:
        return _rows_table(f"{len(self.memos)} memo(s)", self.memos, MEMO_OVERVIEW_COLUMNS)


MEMO_OVERVIEW_COLUMNS = ("kind", "target", "author", "created_at", "text")


@dataclass(frozen=True)
class ComparisonView:
    """Where two coders differ, as the lead's compare view shows it (``GET /api/compare``): each
    region of :class:`qda.coding.regions.Comparison` with its text and the sentences around it
    (``regions``, from :func:`qda.coding.regions.regions_in_context`), and the project's coders."""

    coder_a: str
    coder_b: str
    agreed: int
    regions: tuple[dict[str, Any], ...]
    coders: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"a": self.coder_a, "b": self.coder_b, "agreed": self.agreed,
                          "regions": [dict(r) for r in self.regions], "coders": list(self.coders)})

    def _rows(self) -> list[tuple[Any, ...]]:
        return [(r["document"], r["start"], r["end"], ", ".join(s["code"] for s in r["a_spans"]),
                 ", ".join(s["code"] for s in r["b_spans"]), r["text"]) for r in self.regions]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self._rows(), columns=["document", "start", "end", self.coder_a, self.coder_b, "text"])

    def to_table(self) -> TableView:
        return TableView(f"{len(self.regions)} region(s) where {self.coder_a} and {self.coder_b} differ; "
                         f"{self.agreed} coding(s) agreed",
                         (Column("document"), Column("start", True), Column("end", True), Column(self.coder_a),
                          Column(self.coder_b), Column("text")),
                         tuple(Row(r) for r in self._rows()), lines=True)


RETRIEVAL_COLUMNS = ("case", "document", "segment", "coder", "code", "overlapping", "start", "end", "before", "text",
                     "after", "memo")


@dataclass(frozen=True)
class WorkspaceRetrieval:
    """A retrieval (:class:`qda.analysis.Retrieval`, what ``qda retrieve`` gives for the same
    query) with the rows the workspace lists: characters around each passage, the coder's
    other codes overlapping it, the memos of its codings and the coding's id."""

    retrieval: Retrieval
    rows: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """``qda retrieve --format json`` of the same query, plus ``rows``."""
        return {**self.retrieval.to_dict(), "rows": [dict(r) for r in self.rows]}

    def to_frame(self) -> pd.DataFrame:
        return _rows_frame(self.rows, RETRIEVAL_COLUMNS)

    def to_table(self) -> TableView:
        return _rows_table(f"{len(self.rows)} passage(s)", self.rows, RETRIEVAL_COLUMNS)


SEARCH_COLUMNS = ("document", "case", "start", "end", "before", "match", "after")


@dataclass(frozen=True)
class SearchHits:
    """Keyword in context over every document at code-point offsets (the workspace's search;
    ``qda search`` counts words and lemmas by case instead)."""

    query: str
    regex: bool
    hits: tuple[dict[str, Any], ...]
    limit: int

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "regex": self.regex, "count": len(self.hits),
                "truncated": len(self.hits) >= self.limit, "hits": [dict(h) for h in self.hits]}

    def to_frame(self) -> pd.DataFrame:
        return _rows_frame(self.hits, SEARCH_COLUMNS)

    def to_table(self) -> TableView:
        return _rows_table(f"{len(self.hits)} hit(s) of '{self.query}'", self.hits, SEARCH_COLUMNS)


@dataclass(frozen=True)
class CodedHits:
    """Search hits coded in one write (all or nothing): the codings stored, and the hits the
    coder had already coded with that code (left as they were, not coded twice)."""

    coder: str
    code: str
    coded: tuple[Coding, ...]
    already: tuple[tuple[str, int, int], ...]  # (document, start, end)

    def to_dict(self) -> dict[str, Any]:
        return {"coder": self.coder, "code": self.code, "count": len(self.coded),
                "coded": [coding_dict(c) for c in self.coded],
                "already": [{"document": d, "start": a, "end": b} for d, a, b in self.already]}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"document": c.document, "start": c.start, "end": c.end, "code": c.code,
                              "text": c.text} for c in self.coded], columns=["document", "start", "end", "code",
                                                                             "text"])

    def to_table(self) -> TableView:
        return TableView(f"{len(self.coded)} hit(s) coded {self.code} for {self.coder}"
                         + (f"; {len(self.already)} already coded" if self.already else ""),
                         (Column("document"), Column("start", True), Column("end", True), Column("text")),
                         tuple(Row((c.document, c.start, c.end, c.text)) for c in self.coded))


MAX_HITS = 2000  # as many as a search lists


def plan_hit_codings(codebook: Codebook, documents: Mapping[str, Document], segments: Mapping[str, Sequence[Segment]],
                     *, held: Sequence[Coding], coder: str, code: Any, hits: Any, snap: str = "none",
                     across_turns: bool = False) -> tuple[list[Coding], list[tuple[str, int, int]]]:
    """Plan one coding of ``code`` per search hit (``hits``: ``[{document, start, end}]``),
    checked like a coding made by hand; every problem is reported at once, and nothing is
    planned when there is one. A hit the coder already coded with ``code`` (same span, after
    snapping) is returned in the second list instead of being planned twice.

    ``documents`` and ``segments``: those the hits name (by name); ``held``: the coder's
    codings of those documents.
    """
    coder = check_coder_name(coder)
    code = check_code(codebook, code)
    if not isinstance(hits, list) or not hits or not all(isinstance(h, dict) for h in hits):
        raise InvalidCodingError("'hits' must be a non-empty list of {document, start, end}")
    if len(hits) > MAX_HITS:
        raise InvalidCodingError(f"{len(hits)} hits: at most {MAX_HITS} in one request")
    have = {(c.document, c.start, c.end) for c in held if c.code == code and c.coder == coder}
    planned: list[Coding] = []
    already: list[tuple[str, int, int]] = []
    problems: list[Problem] = []
    labels: list[Problem] = []
    for number, hit in enumerate(hits, start=1):
        where = f"hit {number} ({hit.get('document')} {hit.get('start')}-{hit.get('end')})"
        extra = sorted(set(hit) - {"document", "start", "end"})
        if extra:
            problems.append(Problem(where, f"unknown field(s): {', '.join(extra)}"))
            continue
        name = hit.get("document")
        document = documents.get(name) if isinstance(name, str) else None
        try:
            coding = plan_coding(codebook, document, segments.get(str(name), ()), coder=coder, code=code,
                                 start=hit.get("start"),
                                 end=hit.get("end"), memo=None, snap=snap)
            key = (coding.document, coding.start, coding.end)
            if key in have:
                already.append(key)
                continue
            have.add(key)  # the same hit twice in one request is coded once
            assert document is not None
            check_turns(document.text, segments.get(document.name, ()), coding, confirmed=across_turns)
        except NeedsConfirmation as exc:
            labels.extend(exc.problems)
            continue
        except (InvalidCodingError, NotFoundError) as exc:
            problems.append(Problem(where, exc.message))
            continue
        planned.append(coding)
    if problems:
        raise InvalidCodingError(f"{len(problems)} of {len(hits)} hit(s) cannot be coded; nothing was coded",
                                 problems)
    if labels:
        raise NeedsConfirmation(f"{len(labels)} hit(s) cover a speaker label; code them anyway?", "across_turns",
                                labels)
    return planned, already
