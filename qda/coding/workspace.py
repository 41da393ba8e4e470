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
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from qda.analysis import Retrieval
from qda.coding.sheets import check_coder_name
from qda.errors import InvalidCodingError, NeedsConfirmation, NotFoundError, Problem
from qda.models import Codebook, Coding, Document, Memo, Segment
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


def snap_span(text: str, segments: Sequence[Segment], start: int, end: int, snap: str = "none") -> tuple[int, int]:
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


def turn_labels(text: str, segments: Sequence[Segment], start: int, end: int) -> list[str]:
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


def check_turns(text: str, segments: Sequence[Segment], coding: Coding, confirmed: bool) -> Coding:
    """Refuse (until ``confirmed``) a coding that covers a speaker label, so that a passage
    running from one speaker into the next is never stored by a slip of the mouse."""
    labels = [] if confirmed else turn_labels(text, segments, coding.start, coding.end)
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


def plan_coding(codebook: Codebook, document: Document | None, segments: Sequence[Segment], coder: str,
                code: Any, start: Any, end: Any, memo: Any = None, snap: str = "none") -> Coding:
    """A new manual coding of ``document`` by ``coder``, checked; not stored yet."""
    coder = check_coder_name(coder)
    if document is None:
        raise NotFoundError("unknown document")
    code = check_code(codebook, code)
    start, end = check_span(document.text, start, end)
    start, end = check_span(document.text, *snap_span(document.text, segments, start, end, snap))
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
            raise InvalidCodingError(f"you already coded this passage with '{planned.code}'; nothing was changed")
    return planned


def check_owner(coding: Coding | None, coder: str) -> Coding:
    """The coding, when ``coder`` may change it; NotFoundError when it is absent or another
    coder's, with the same words, so the answer does not tell which (no existence oracle)."""
    if coding is None or coding.coder != coder:
        raise NotFoundError("no such coding of yours")
    return coding


def plan_change(codebook: Codebook, document: Document, segments: Sequence[Segment], coding: Coding,
                changes: dict[str, Any], snap: str = "none") -> Coding:
    """``coding`` with ``changes`` (code, start, end, memo) applied and checked."""
    unknown = sorted(set(changes) - {"code", "start", "end", "memo"})
    if unknown:
        raise InvalidCodingError(f"cannot change {', '.join(unknown)} (only code, start, end, memo)")
    code = check_code(codebook, changes["code"]) if "code" in changes else coding.code
    start, end = coding.start, coding.end
    if "start" in changes or "end" in changes:
        start, end = check_span(document.text, changes.get("start", start), changes.get("end", end))
        start, end = check_span(document.text, *snap_span(document.text, segments, start, end, snap))
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
                 context: int = 150) -> list[dict[str, Any]]:
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


def search_text(documents: Sequence[Document], query: str, regex: bool = False, context: int = 80,
                limit: int = 2000) -> list[dict[str, Any]]:
    """Keyword in context: every match of ``query`` (case-insensitive), at code-point offsets."""
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
                return hits
    return hits


# ----------------------------------------------------------------------------- memos

MEMO_KINDS = ("document", "code", "case")


def plan_memo(kind: Any, target: Any, text: Any, author: str, known: set[str]) -> Memo:
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
