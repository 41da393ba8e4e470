"""Planning imports of transcripts, survey tables and case tables (nothing is written here).

Each planner reads its files, validates everything (every problem reported at once) and
returns a :class:`qda.models.WritePlan` with the report of what committing it does; the
project commits the plan in one transaction. What the project already holds is read
through :class:`Holdings` (the store satisfies it), never written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from qda.errors import IngestError, Problem
from qda.ingest import RawTranscript, default_role, normalise_text, read_table, read_transcript
from qda.ingest import languages as langs
from qda.ingest.reanchor import Anchor, Reanchored, moved_codings, reanchor
from qda.ingest.segment import Analysis, analyse_many, detect_language
from qda.models import Case, Coding, Document, DocumentWrite, Segment, SegmentRun, SegmentUnit, Tokens, Turn, WritePlan
from qda.results import Note, Progress, TableView, frame_view, json_dict, no_progress

if TYPE_CHECKING:
    import pandas as pd


class Holdings(Protocol):
    """What planners read of a project (the store provides it)."""

    def document(self, name: str) -> Document | None: ...

    def count_codings(self, document: str | None = None, coder: str | None = None) -> int: ...

    def codings(self, coder: str | None = None, case: str | None = None, document: str | None = None,
                ids: Sequence[int] | None = None) -> list[Coding]: ...

    def segments(self, document: str | None = None, case: str | None = None) -> list[Segment]: ...


# ----------------------------------------------------------------------------- reports

@dataclass(frozen=True)
class TranscriptImport:
    """What happened to one transcript file."""

    file: str
    document: str
    case: str
    status: str  # "imported" | "unchanged" | "replaced"
    turns: int
    segments: int
    speakers: tuple[str, ...]
    notes: tuple[str, ...] = ()
    reanchored: tuple[Reanchored, ...] = ()

    def reanchor_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for move in self.reanchored:
            counts[move.status] = counts.get(move.status, 0) + 1
        return counts


@dataclass(frozen=True)
class ImportReport:
    """Result of ``import transcripts``."""

    files: tuple[TranscriptImport, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"files": [{**{k: v for k, v in f.__dict__.items() if k != "reanchored"},
                                     "speakers": list(f.speakers), "notes": list(f.notes),
                                     "reanchored": f.reanchor_counts(),
                                     "codings": [m.__dict__ for m in f.reanchored if m.status != "unchanged"]}
                                    for f in self.files]})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([{"file": f.file, "document": f.document, "case": f.case, "status": f.status,
                              "turns": f.turns, "segments": f.segments, "speakers": ", ".join(f.speakers)}
                             for f in self.files],
                            columns=["file", "document", "case", "status", "turns", "segments", "speakers"])

    def to_table(self) -> TableView:
        """One row per file; then each file's notes and the codings a revision moved or lost."""
        notes: list[Note] = []
        for item in self.files:
            for text in item.notes:
                notes.append(Note(f"{item.document}: {text}", "warning" if text.startswith("warning") else ""))
            if item.reanchored:
                counts = ", ".join(f"{n} {status}" for status, n in item.reanchor_counts().items())
                notes.append(Note(f"{item.document}: codings re-anchored: {counts}"))
                notes += [Note(f"  [{move.status}] {move.old_text[:70]} -> {move.new_text[:70]}")
                          for move in item.reanchored if move.status in ("changed", "orphaned")]
        view = frame_view(self.to_frame())
        return TableView(view.title, view.columns, view.rows, notes=tuple(notes))


@dataclass(frozen=True)
class CasesImport:
    """Result of ``import cases``."""

    file: str
    cases: tuple[Case, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "cases": [{"case": c.name, **c.attributes} for c in self.cases]}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([{"case": c.name, **c.attributes} for c in self.cases])

    def to_table(self) -> TableView:
        return frame_view(self.to_frame())


def _speakers(raw: RawTranscript) -> tuple[str, ...]:
    seen: list[str] = []
    for turn in raw.turns:
        if turn.speaker and turn.speaker not in seen:
            seen.append(turn.speaker)
    return tuple(seen)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check_language(language: str) -> str:
    """``language`` if qda reads it (see :func:`qda.ingest.languages.check_language`)."""
    return langs.check_language(language)


def choose_language(stated: str | None, loaded: Sequence[Loaded]) -> str:
    """``stated``, else the language the texts read as (French when they are unclear)."""
    return check_language(stated or detect_language(" ".join(raw.text[:20_000] for _, _, raw in loaded)) or "fr")


@dataclass(frozen=True)
class DocumentLanguage:
    """The language a transcript is imported in, and how it was chosen: ``given`` (--lang),
    ``detected``, or ``project`` (detection unsure: the project's language)."""

    language: str
    how: str
    detection: langs.Detection | None = None


def document_languages(loaded: Sequence[Loaded], given: str | None, default: str) -> dict[str, DocumentLanguage]:
    """Each transcript's language: ``given`` for all, else each one's own when detection is
    sure of it, else ``default`` (the project's language)."""
    if given is not None:
        check_language(given)
        return {name: DocumentLanguage(given, "given") for _, name, _ in loaded}
    chosen: dict[str, DocumentLanguage] = {}
    for _, name, raw in loaded:
        found = langs.detect(raw.text)
        if found.language is not None and found.language != default:
            chosen[name] = DocumentLanguage(check_language(found.language), "detected", found)
        else:
            chosen[name] = DocumentLanguage(default, "project" if found.language is None else "detected", found)
    return chosen


# ----------------------------------------------------------------------------- transcripts

Loaded = tuple[Path, str, RawTranscript]


def read_transcripts(paths: Sequence[str | Path], progress: Progress = no_progress) -> list[Loaded]:
    """Read transcript files (all or nothing); the document name is the file name stem."""
    if not paths:
        raise IngestError("no transcript file given")
    problems: list[Problem] = []
    loaded: list[Loaded] = []
    names: dict[str, Path] = {}
    for done, raw_path in enumerate(paths):
        progress(f"reading {len(paths)} file(s)", done, len(paths))
        path = Path(raw_path)
        # macOS writes file names decomposed (NFD), most other systems composed (NFC): the same
        # interview must not become two documents because its accents were spelled two ways.
        name = unicodedata.normalize("NFC", path.stem)
        if name in names:
            problems.append(Problem(str(path), f"document name '{name}' also comes from {names[name]}",
                                    "rename one of the files"))
            continue
        names[name] = path
        try:
            loaded.append((path, name, read_transcript(path)))
        except IngestError as exc:
            problems.append(Problem("", exc.message))
            problems.extend(p for p in exc.problems if str(p) != exc.message)
    progress(f"reading {len(paths)} file(s)", len(paths), len(paths))
    if problems:
        raise IngestError("no transcript was imported", problems)
    return loaded


def language_notes(report: ImportReport, loaded: Sequence[Loaded], language: str, *, chosen: bool,
                   assigned: dict[str, DocumentLanguage] | None = None) -> ImportReport:
    """The report with, on each transcript, the language it was imported in when that is not
    the project's ``language`` (or detection was unsure of it), and (``chosen``: the project
    had none) on the first one, the language the project now has."""
    texts = {name: raw.text for _, name, raw in loaded}
    files = []
    for i, item in enumerate(report.files):
        notes = list(item.notes)
        if chosen and i == 0:
            notes.append(f"project language set to {langs.name(language)} ({language}), detected from the "
                         "transcripts (qda init --lang sets it)")
        mine = (assigned or {}).get(item.document)
        if item.status in ("unchanged", "moved"):
            pass
        elif mine is not None and mine.language != language:
            how = "detected" if mine.how == "detected" else "given with --lang"
            notes.append(f"imported as {langs.name(mine.language)} ({mine.language}), {how}; the project is "
                         f"{langs.name(language)} ({language}); --lang CODE at import sets a transcript's language")
        elif mine is not None and mine.how == "project" and mine.detection is not None \
                and mine.detection.words >= langs.MIN_WORDS and mine.detection.scores:
            notes.append(f"{mine.detection.describe()}: imported as {langs.name(language)} ({language}), the "
                         "project's; --lang CODE at import sets a transcript's language")
        elif mine is None:
            found = detect_language(texts.get(item.document, ""))
            if found is not None and found != language:
                notes.append(f"warning: this transcript reads as {langs.name(found)}, the project is "
                             f"{langs.name(language)} ({language}), whose rules split its sentences; "
                             f"'qda document resplit {item.document} --lang {found}' splits it by "
                                 f"{langs.name(found)} rules (its codings are kept)")
        files.append(replace(item, notes=tuple(notes)))
    return replace(report, files=tuple(files))


def _statuses(held: Holdings, loaded: Sequence[Loaded], case: str | None, replace: bool) -> list[tuple[Loaded, str]]:
    """What to do with each transcript: imported, unchanged, moved, revised or replaced."""
    problems: list[Problem] = []
    plans: list[tuple[Loaded, str]] = []
    for item in loaded:
        path, name, raw = item
        existing = held.document(name)
        if existing is None and held.document(unicodedata.normalize("NFD", name)) is not None:
            # imported before names were composed: the stored (decomposed) name is the document's
            name = unicodedata.normalize("NFD", name)
            item = (path, name, raw)
            existing = held.document(name)
        coded = held.count_codings(document=name) if existing is not None else 0
        if not raw.text.strip():
            problems.append(Problem(str(path), "the transcript is empty"))
        elif not any(raw.text[turn.start:turn.end].strip() for turn in raw.turns):
            labels = sorted({line.strip() for line in raw.text.splitlines() if line.strip()})[:3]
            problems.append(Problem(str(path), "the transcript holds no speech, only speaker labels "
                                    f"({', '.join(labels)})", "check that the file is the whole transcript"))
        elif existing is None:
            plans.append((item, "imported"))
        elif existing.sha256 == raw.sha256 and (case is None or existing.case == case):
            plans.append((item, "unchanged"))
        elif existing.sha256 == raw.sha256:
            plans.append((item, "moved"))  # same text, another case: codings stay
        elif coded and not replace:
            problems.append(Problem(str(path), f"document '{name}' changed since it was imported and has {coded} "
                                    "coding(s); refusing to replace it",
                                    "use --replace to re-anchor the codings on the revised text"))
        elif coded and case is not None and case != existing.case:
            problems.append(Problem(str(path), f"document '{name}' belongs to case '{existing.case}'",
                                    "a revision keeps its case"))
        else:
            plans.append((item, "revised" if coded else "replaced"))
    if problems:
        raise IngestError(f"{len(problems)} problem(s); no transcript was imported", problems)
    return plans


def document_write(document: Document, analysis: Analysis, action: str = "add") -> DocumentWrite:
    """A document with its segments (speakers with their default role) and tokens."""
    speakers = tuple((t.speaker, default_role(t.speaker), t.timestamp) for t in analysis.turns)
    return DocumentWrite(document, action,
                         SegmentRun(document, analysis.segment_starts, analysis.segment_ends, analysis.segment_turns,
                                    speakers),
                         Tokens(analysis.starts, analysis.ends, analysis.lower, analysis.lemma))


def plan_transcripts(held: Holdings, loaded: Sequence[Loaded], case: str | None, *, language: str, unit: SegmentUnit,
                     replace: bool = False, jobs: int = 1,
                     case_of: dict[str, str] | None = None,
                     progress: Progress = no_progress, languages: dict[str, str] | None = None,
                     fast: bool = False, language_sources: dict[str, str] | None = None
                     ) -> tuple[WritePlan, ImportReport]:
    """Plan the import of read transcripts (see ``Project.import_transcripts``).

    An unchanged file is a no-op; a changed one without codings is replaced; with codings
    it is refused unless ``replace`` is set, and then its codings are re-anchored on the
    revised text (orphans kept, flagged) and the old text archived. ``languages``: each
    document's language (default: ``language`` for all), ``language_sources`` how it was
    chosen (see :class:`DocumentLanguage`); ``fast``: rules and lookup lemmas (see
    :func:`qda.ingest.segment.analyse_many`).
    """
    plans = _statuses(held, loaded, case, replace)
    todo = [(item, status) for item, status in plans if status not in ("unchanged", "moved")]
    language_of = {name: (languages or {}).get(name, language) for (_, name, _), _ in todo}
    source_of = language_sources or {}
    analyses: dict[str, Analysis] = {}
    for group in sorted(set(language_of.values())):  # one pipeline per language
        members = [raw for (_, name, raw), _ in todo if language_of[name] == group]
        names = [name for (_, name, _), _ in todo if language_of[name] == group]
        analyses.update(zip(names,
                            analyse_many([(raw.text, raw.turns) for raw in members], language=group, unit=unit,
                                         jobs=jobs,
                                                progress=progress, fast=fast)))
    writes: list[DocumentWrite] = []
    moved: list[Coding] = []
    results: list[TranscriptImport] = []
    for (path, name, raw), status in plans:
        case_name = case or (case_of or {}).get(name) or name
        if status in ("unchanged", "moved"):
            if status == "moved":
                writes.append(DocumentWrite(Document(name, case_name, raw.text, raw.sha256), "move"))
            results.append(TranscriptImport(str(path), name, case_name, status, len(raw.turns),
                                            len(held.segments(document=name)), _speakers(raw)))
            continue
        analysis = analyses[name]
        moves: tuple[Reanchored, ...] = ()
        if status == "revised":
            old = held.document(name)
            assert old is not None
            write = document_write(Document(name, old.case, raw.text, raw.sha256, str(path), language_of[name],
                                            source_of.get(name, ""), langs.version(language_of[name], fast)),
                                   analysis, "revise")
            codings = held.codings(document=name)
            moves = tuple(reanchor(old.text, raw.text, [Anchor(c.id or 0, c.start, c.end) for c in codings]))
            moved += moved_codings(codings, moves, write.segments)
        else:
            write = document_write(Document(name, case_name, raw.text, raw.sha256, str(path), language_of[name],
                                            source_of.get(name, ""), langs.version(language_of[name], fast)),
                                   analysis, "replace" if status == "replaced" else "add")
        writes.append(write)
        results.append(TranscriptImport(str(path), name, write.document.case, status, len(raw.turns),
                                        len(analysis.segment_starts), _speakers(raw), raw.notes, moves))
    return WritePlan(documents=tuple(writes), tidy_cases=True, moved=tuple(moved)), ImportReport(tuple(results))


# ----------------------------------------------------------------------------- survey tables

def read_survey(path: Path, text_columns: Sequence[str],
                id_column: str | None = None) -> tuple[list[Loaded], dict[str, dict[str, str]]]:
    """Survey data: one row = one document (and case); ``text_columns`` hold the answers.

    Each answer becomes a turn whose speaker is its column header, so open questions can
    be told apart; every other column becomes a case attribute (as NVivo datasets and
    QDA Miner survey import do). Returns the transcripts and each one's attributes.
    """
    rows = read_table(path)
    header = [_cell_text(h) for h in rows[0]] if rows else []
    problems = [Problem(f"{path} row 1", f"no column '{c}'", f"columns: {', '.join(header)}")
                for c in [*text_columns, *([id_column] if id_column else [])] if c not in header]
    if not text_columns:
        problems.append(Problem(str(path), "no text column chosen", "give --text COLUMN (repeatable)"))
    if problems:
        raise IngestError(f"{path}: {len(problems)} problem(s); nothing was imported", problems)
    loaded: list[Loaded] = []
    attributes: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        values = dict(zip(header, (_cell_text(v) for v in row)))
        if not any(values.values()):
            continue
        name = values.get(id_column, "") if id_column else f"{path.stem}-{number - 1:04d}"
        if not name:
            problems.append(Problem(f"{path} row {number}", f"empty '{id_column}'"))
            continue
        if name in seen:
            problems.append(Problem(f"{path} row {number}", f"'{name}' given twice"))
            continue
        seen.add(name)
        parts, turns, position = [], [], 0
        for column in text_columns:
            answer = normalise_text(values.get(column, "")).strip()
            if not answer:
                continue
            label = f"{column} : "
            start = position + len(label)
            parts.append(label + answer)
            turns.append(Turn(start, start + len(answer), column))
            position += len(label) + len(answer) + 2
        text = "\n\n".join(parts)
        if not text:
            continue  # nobody answered the open questions on this row
        loaded.append((path, name, RawTranscript(text, tuple(turns), "table")))
        attributes[name] = {k: v for k, v in values.items() if k not in text_columns and k != id_column and v}
    if problems:
        raise IngestError(f"{path}: {len(problems)} problem(s); nothing was imported", problems)
    return loaded, attributes


def plan_survey(held: Holdings, path: Path, text_columns: Sequence[str], *, id_column: str | None,
                language: str | None, unit: SegmentUnit) -> tuple[WritePlan, ImportReport]:
    """Plan a survey import: its answers as transcripts, its other columns as case attributes.

    ``language`` None (a project created without one): the answers decide it, as the first
    transcripts of a project do.
    """
    loaded, attributes = read_survey(path, text_columns, id_column)
    chosen = choose_language(language, loaded)
    plan, report = plan_transcripts(held, loaded, None, language=chosen, unit=unit)
    imported = {f.document for f in report.files}
    cases = tuple(Case(name, attrs) for name, attrs in attributes.items() if name in imported)
    meta = {**plan.meta, "language": chosen} if language is None else plan.meta
    return (WritePlan(documents=plan.documents, tidy_cases=True, cases=cases, moved=plan.moved, meta=meta),
            language_notes(report, loaded, chosen, chosen=language is None))


# ----------------------------------------------------------------------------- case tables

def plan_cases(path: Path) -> tuple[WritePlan, CasesImport]:
    """Case attributes from a CSV/XLSX table: a ``case`` column, every other column an attribute."""
    table = read_table(path)
    header = [str(h or "").strip() for h in table[0]] if table else []
    lowered = [h.lower() for h in header]
    if "case" not in lowered:
        raise IngestError(f"{path}: row 1: no 'case' column",
                          [Problem(f"{path} row 1", f"columns found: {', '.join(h for h in header if h) or 'none'}",
                                   "name the column holding case ids 'case'")])
    key = lowered.index("case")
    problems: list[Problem] = []
    cases: dict[str, dict[str, str]] = {}
    for number, row in enumerate(table[1:], start=2):
        values = [_cell_text(v) for v in row] + [""] * (len(header) - len(row))
        if not any(values):
            continue
        name = values[key]
        if not name:
            problems.append(Problem(f"{path} row {number}", "empty case id"))
            continue
        if name in cases:
            problems.append(Problem(f"{path} row {number}", f"case '{name}' given twice"))
            continue
        cases[name] = {h: v for i, (h, v) in enumerate(zip(header, values)) if i != key and h and v != ""}
    if problems:
        raise IngestError(f"{path}: {len(problems)} problem(s); no case was imported", problems)
    planned = tuple(Case(n, a) for n, a in cases.items())
    return WritePlan(cases=planned), CasesImport(str(path), planned)
