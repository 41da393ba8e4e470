"""The qda project: one facade over the store, ingestion, coding, matrices and exports.

The CLI makes one call here per command. Every method that writes does so in one
transaction, after validating all of its input.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from qda import matrix
from qda.codebook import load_codebook
from qda.agreement.units import AgreementReport, agree, agree_table, segments_of
from qda.coding.auto import DocTokens, Hit, compile_dictionary, find_hits
from qda.coding import (AdjudicationResult, SheetImport, adjudicate, check_coder_name, import_sheet,
                        write_adjudication_sheet, write_sheet)
from qda.errors import AgreementError, IngestError, NotFoundError, Problem, ProjectError
from qda.ingest import RawTranscript, default_role, normalise_text, read_table, read_transcript
from qda.ingest.reanchor import Anchor, Reanchored, reanchor
from qda.ingest.segment import LANGUAGES, UNITS, Analysis, analyse_many
from qda.models import Case, Codebook, Coding, Document, Segment, Turn
from qda.store import DB_NAME, Store

if TYPE_CHECKING:  # REFI-QDA modules are imported when used: most commands never need them
    from qda.export.refi import RefiExport
    from qda.ingest.refi import RefiImportReport

ENV_VAR = "QDA_PROJECT"


def find_project_dir(explicit: str | Path | None = None, cwd: Path | None = None) -> Path:
    """``--project``, else ``$QDA_PROJECT``, else the nearest enclosing project folder."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DB_NAME).exists():
            return folder
    raise ProjectError("no qda project here: run 'qda init DIR', or pass --project DIR, or set QDA_PROJECT")


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
        return {"files": [{**{k: v for k, v in f.__dict__.items() if k != "reanchored"},
                           "speakers": list(f.speakers), "notes": list(f.notes),
                           "reanchored": f.reanchor_counts(),
                           "codings": [m.__dict__ for m in f.reanchored if m.status != "unchanged"]}
                          for f in self.files]}

    def to_frame(self) -> Any:
        import pandas as pd
        return pd.DataFrame([{"file": f.file, "document": f.document, "case": f.case, "status": f.status,
                              "turns": f.turns, "segments": f.segments, "speakers": ", ".join(f.speakers)}
                             for f in self.files])


@dataclass(frozen=True)
class CasesImport:
    """Result of ``import cases``."""

    file: str
    cases: tuple[Case, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "cases": [{"case": c.name, **c.attributes} for c in self.cases]}

    def to_frame(self) -> Any:
        import pandas as pd
        return pd.DataFrame([{"case": c.name, **c.attributes} for c in self.cases])


@dataclass(frozen=True)
class AutoCodeResult:
    """What dictionary auto-coding did."""

    coder: str
    codings: int
    flagged: int  # negated mentions kept with status "negated" (negation="flag")
    per_code: dict[str, int]
    negation: str
    patterns: tuple[str, ...]  # the patterns that fired

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "patterns": list(self.patterns)}

    def to_frame(self) -> Any:
        import pandas as pd
        return pd.DataFrame([{"code": k, "segments": v} for k, v in self.per_code.items()])


@dataclass(frozen=True)
class SpeakerList:
    """Speakers, their role and number of segments."""

    rows: tuple[tuple[str, str | None, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"speakers": [{"speaker": s, "role": r, "segments": n} for s, r, n in self.rows]}

    def to_frame(self) -> Any:
        import pandas as pd
        return pd.DataFrame([{"speaker": s, "role": r or "", "segments": n} for s, r, n in self.rows])


@dataclass(frozen=True)
class ProjectStatus:
    """Counts of what the project holds."""

    path: str
    documents: int
    cases: int
    segments: int
    codebook: str | None
    codes: int
    coders: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def to_frame(self) -> Any:
        import pandas as pd
        row = {k: v for k, v in self.__dict__.items() if k != "coders"}
        row.update({f"codings: {name}": n for name, n in self.coders.items()})
        return pd.DataFrame([row])


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


class Project:
    """An open qda project folder."""

    def __init__(self, folder: Path, store: Store) -> None:
        self.folder = folder
        self.store = store

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def init(cls, folder: str | Path, language: str = "fr", unit: str = "sentence") -> "Project":
        """Create a new project folder; ``unit`` (sentence, paragraph, turn) is what coders code."""
        folder = Path(folder)
        if language not in LANGUAGES:
            raise ProjectError(f"unsupported language '{language}' (supported: {', '.join(LANGUAGES)})")
        if unit not in UNITS:
            raise ProjectError(f"unknown segment unit '{unit}' (use one of: {', '.join(UNITS)})")
        store = Store.create(folder)
        with store.transaction():
            store.set_meta("language", language)
            store.set_meta("segment_unit", unit)
        return cls(folder, store)

    @classmethod
    def open(cls, folder: str | Path | None = None) -> "Project":
        """Open the project at ``folder`` (or found from the environment / working folder)."""
        path = find_project_dir(folder)
        return cls(path, Store.open(path))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def language(self) -> str:
        return self.store.get_meta("language") or "fr"

    def status(self) -> ProjectStatus:
        codebook = self.store.codebook()
        coders = {name: self.store.count_codings(coder=name) for name in self.store.coders()}
        return ProjectStatus(str(self.folder), len(self.store.documents()), len(self.store.cases()),
                             len(self.store.segments()), codebook.name if codebook else None,
                             len(codebook.codes) if codebook else 0, coders)

    # ------------------------------------------------------------------ transcripts
    def import_transcripts(self, paths: Sequence[str | Path], case: str | None = None,
                           language: str | None = None, replace: bool = False, jobs: int = 1) -> ImportReport:
        """Import transcript files (all or nothing).

        The document name and, unless ``case`` is given, the case are the file name stem.
        An unchanged file is a no-op. A changed file without codings is replaced; with
        codings it is refused unless ``replace`` is set, in which case every coding is
        re-anchored on the revised text (orphans are kept and flagged) and the old text
        is archived.
        """
        language = language or self.language
        if language not in LANGUAGES:
            raise IngestError(f"unsupported language '{language}' (supported: {', '.join(LANGUAGES)})")
        if not paths:
            raise IngestError("no transcript file given")
        problems: list[Problem] = []
        loaded: list[tuple[Path, str, RawTranscript]] = []
        names: dict[str, Path] = {}
        for raw_path in paths:
            path = Path(raw_path)
            name = path.stem
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
        if problems:
            raise IngestError("no transcript was imported", problems)
        return self._store_transcripts(loaded, case, language, replace, jobs)

    def _store_transcripts(self, loaded: Sequence[tuple[Path, str, RawTranscript]], case: str | None,
                           language: str, replace: bool, jobs: int,
                           case_of: dict[str, str] | None = None) -> ImportReport:
        """Plan, analyse and store read transcripts in one transaction (see import_transcripts)."""
        problems: list[Problem] = []
        plans: list[tuple[Path, str, RawTranscript, str]] = []
        for path, name, raw in loaded:
            existing = self.store.document(name)
            coded = self.store.count_codings(document=name) if existing is not None else 0
            if not raw.text.strip():
                problems.append(Problem(str(path), "the transcript is empty"))
            elif existing is None:
                plans.append((path, name, raw, "imported"))
            elif existing.sha256 == raw.sha256 and (case is None or existing.case == case):
                plans.append((path, name, raw, "unchanged"))
            elif existing.sha256 == raw.sha256:
                plans.append((path, name, raw, "moved"))  # same text, another case: codings stay
            elif coded and not replace:
                problems.append(Problem(str(path), f"document '{name}' changed since it was imported and has {coded} "
                                        "coding(s); refusing to replace it",
                                        "use --replace to re-anchor the codings on the revised text"))
            elif coded and case is not None and case != existing.case:
                problems.append(Problem(str(path), f"document '{name}' belongs to case '{existing.case}'",
                                        "a revision keeps its case"))
            else:
                plans.append((path, name, raw, "revised" if coded else "replaced"))
        if problems:
            raise IngestError(f"{len(problems)} problem(s); no transcript was imported", problems)
        unit = self.store.get_meta("segment_unit") or "sentence"
        todo = [(path, name, raw, status) for path, name, raw, status in plans if status not in ("unchanged", "moved")]
        analyses = dict(zip((name for _, name, _, _ in todo),
                            analyse_many([(raw.text, raw.turns) for _, _, raw, _ in todo], language, unit, jobs)))
        results: list[TranscriptImport] = []
        with self.store.transaction():
            for path, name, raw, status in plans:
                case_name = case or (case_of or {}).get(name) or name
                if status in ("unchanged", "moved"):
                    if status == "moved":
                        self.store.set_document_case(name, case_name)
                    segs = self.store.segments(document=name)
                    results.append(TranscriptImport(str(path), name, case_name, status, len(raw.turns),
                                                    len(segs), _speakers(raw)))
                    continue
                analysis = analyses[name]
                document = Document(name, case_name, raw.text, raw.sha256, str(path), language)
                moves: tuple[Reanchored, ...] = ()
                if status == "revised":
                    old = self.store.document(name)
                    assert old is not None
                    document = Document(name, old.case, raw.text, raw.sha256, str(path), language)
                    codings = [c for c in self.store.codings() if c.document == name]
                    self.store.archive_document(name)
                    doc_id = self.store.replace_document_text(name, document)
                    moves = tuple(reanchor(old.text, raw.text, [Anchor(c.id or 0, c.start, c.end) for c in codings]))
                else:
                    if status == "replaced":
                        self.store.delete_document(name)
                    doc_id = self.store.add_document(document)
                self._save_analysis(doc_id, document, analysis)
                if moves:
                    whole = {c.id for c in codings if c.segment is not None}
                    self._apply_moves(name, moves, whole)
                results.append(TranscriptImport(str(path), name, document.case, status, len(raw.turns),
                                                len(analysis.spans), _speakers(raw), raw.notes, moves))
            self.store.drop_empty_cases()
        return ImportReport(tuple(results))

    def _save_analysis(self, doc_id: int, document: Document, analysis: Analysis) -> None:
        """Store a document's segments (speakers with their default role) and its tokens."""
        self.store.add_segments(doc_id, [
            Segment(ref="", document=document.name, case=document.case, turn=s.turn, ordinal=i + 1, start=s.start,
                    end=s.end, text="", speaker=s.speaker, role=default_role(s.speaker), timestamp=s.timestamp)
            for i, s in enumerate(analysis.spans)])
        self.store.save_tokens(doc_id, analysis.starts, analysis.ends, analysis.lower, analysis.lemma)

    def _apply_moves(self, document: str, moves: Sequence[Reanchored], whole_segment: set[int | None]) -> None:
        """Put re-anchored codings on their new spans and segments; orphans keep an empty span, flagged.

        A coding that covered a whole segment (from a coding sheet) covers the whole new
        segment it lands on, so sheets and agreement keep working on segments.
        """
        ids = self.store.segment_ids()
        segments = self.store.segments(document=document)
        for move in moves:
            if move.start is None or move.end is None:
                self.store.move_coding(move.key, 0, 0, None, "orphaned")
                continue
            best, overlap = None, 0
            for seg in segments:
                common = min(move.end, seg.end) - max(move.start, seg.start)
                if common > overlap:
                    best, overlap = seg, common
            segment_id = ids[best.ref][0] if best is not None else None
            start, end = (best.start, best.end) if best is not None and move.key in whole_segment else (move.start,
                                                                                                      move.end)
            self.store.move_coding(move.key, start, end, segment_id,
                                   "ok" if move.status in ("unchanged", "moved") else move.status)

    def import_survey(self, path: str | Path, text_columns: Sequence[str], id_column: str | None = None,
                      language: str | None = None) -> ImportReport:
        """Survey data: one row = one document (and case); ``text_columns`` hold the answers.

        Each answer becomes a turn whose speaker is its column header, so open questions can
        be told apart; every other column becomes a case attribute (as NVivo datasets and
        QDA Miner survey import do).
        """
        path = Path(path)
        rows = read_table(path)
        header = [_cell_text(h) for h in rows[0]] if rows else []
        problems = [Problem(f"{path} row 1", f"no column '{c}'", f"columns: {', '.join(header)}")
                    for c in [*text_columns, *([id_column] if id_column else [])] if c not in header]
        if not text_columns:
            problems.append(Problem(str(path), "no text column chosen", "give --text COLUMN (repeatable)"))
        if problems:
            raise IngestError(f"{path}: {len(problems)} problem(s); nothing was imported", problems)
        loaded: list[tuple[Path, str, RawTranscript]] = []
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
        with self.store.transaction():
            report = self._store_transcripts(loaded, None, language or self.language, False, 1)
            for name, attrs in attributes.items():
                if name in {f.document for f in report.files}:
                    self.store.set_case_attributes(name, attrs)
        return report

    def segments(self, document: str | None = None, case: str | None = None) -> list[Segment]:
        return self.store.segments(document=document, case=case)

    def speakers(self, set_roles: dict[str, str] | None = None) -> "SpeakerList":
        """Speakers with their role; ``set_roles`` (speaker -> role) changes roles first."""
        if set_roles:
            known = {name for name, _, _ in self.store.speakers()}
            unknown = [name for name in set_roles if name not in known]
            if unknown:
                raise NotFoundError(f"unknown speaker(s): {', '.join(unknown)} (speakers: {', '.join(sorted(known))})")
            with self.store.transaction():
                for name, role in set_roles.items():
                    self.store.set_speaker_role(name, role.strip() or None)
        return SpeakerList(tuple(self.store.speakers()))

    # ------------------------------------------------------------------ cases
    def import_cases(self, path: str | Path) -> CasesImport:
        """Case attributes from a CSV/XLSX table: a ``case`` column, every other column an attribute."""
        path = Path(path)
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
        with self.store.transaction():
            for name, attributes in cases.items():
                self.store.set_case_attributes(name, attributes)
        return CasesImport(str(path), tuple(Case(n, a) for n, a in cases.items()))

    def cases(self) -> list[Case]:
        return self.store.cases()

    # ------------------------------------------------------------------ codebook
    @staticmethod
    def validate_codebook(path: str | Path) -> Codebook:
        """Validate a codebook file without a project."""
        return load_codebook(path)

    def load_codebook(self, path: str | Path) -> Codebook:
        """Load (or reload) the project's codebook; codes in use cannot disappear."""
        codebook = load_codebook(path)
        source = Path(path).read_text(encoding="utf-8-sig")
        self._save_codebook(codebook, source, str(path))
        return codebook

    def _save_codebook(self, codebook: Codebook, source: str, origin: str) -> None:
        in_use = self.store.codes_in_use()
        gone = sorted(set(in_use) - set(codebook.code_ids()))
        if gone:
            raise NotFoundError(
                f"{origin}: the new codebook drops codes that have codings",
                [Problem(origin, f"code '{k}' is used by {in_use[k]} coding(s)", "keep it in the codebook")
                 for k in gone])
        with self.store.transaction():
            self.store.save_codebook(codebook, source)

    def codebook(self) -> Codebook:
        codebook = self.store.codebook()
        if codebook is None:
            raise NotFoundError("the project has no codebook yet: qda codebook load FILE.yaml")
        return codebook

    # ------------------------------------------------------------------ coding
    def write_coding_sheet(self, coder: str, path: str | Path, case: str | None = None,
                           roles: Sequence[str] | None = None) -> int:
        """Write a coding sheet for ``coder``, pre-filled with the coder's existing codings.

        ``roles`` keeps only segments of speakers with those roles (e.g. respondent).
        """
        coder = check_coder_name(coder)
        codebook = self.codebook()
        segments = self.store.segments(case=case)
        if roles:
            known = sorted({s.role for s in segments if s.role})
            segments = [s for s in segments if s.role in roles]
            if not segments:
                raise NotFoundError(f"no segment of speakers with role(s) {', '.join(roles)} "
                                    f"(roles: {', '.join(known) or 'none'}; see qda speakers)")
        if not segments:
            raise NotFoundError("no segments to code: import transcripts first" if case is None
                                else f"no segments in case '{case}'")
        existing = self.store.codings(coder=coder) if coder in self.store.coders() else []
        return write_sheet(Path(path), segments, codebook, coder, existing, codebook.default_language)

    def import_codings(self, path: str | Path, coder: str) -> SheetImport:
        """Import a coder's sheet (xlsx/csv); all rows valid or nothing imported."""
        return import_sheet(self.store, Path(path), coder)

    def coders(self) -> list[str]:
        return self.store.coders()

    def codings(self, coder: str) -> list[Coding]:
        """A coder's codings; an unknown coder is an error naming the known ones."""
        if coder not in self.store.coders():
            known = ", ".join(self.store.coders()) or "none yet"
            raise NotFoundError(f"unknown coder '{coder}' (coders: {known})")
        # Negated mentions flagged by auto-coding, and codings orphaned by a transcript
        # revision, stay in the project (and in reports) but are not uses of the code.
        return [c for c in self.store.codings(coder=coder) if c.status not in ("negated", "orphaned")]

    # ------------------------------------------------------------------ matrices
    def matrix_case(self, case: str, coder: str, lang: str | None = None) -> matrix.IntraCaseMatrix:
        if case not in {c.name for c in self.store.cases()}:
            known = ", ".join(c.name for c in self.store.cases()) or "none"
            raise NotFoundError(f"unknown case '{case}' (cases: {known})")
        return self._with_memos(matrix.intra_case(self.codebook(), self.codings(coder), case, coder, lang))

    def _with_memos(self, result: matrix.IntraCaseMatrix) -> matrix.IntraCaseMatrix:
        """The memos on a case, its documents and the codes it uses, added to its intra-case matrix."""
        from dataclasses import replace

        every = self.store.memos()
        if not every:
            return result
        docs = {d.name for d in self.store.documents() if d.case == result.case}
        wanted = {("case", result.case)} | {("document", d) for d in docs} | {("code", r.code) for r in result.rows}
        memos = tuple((m.target_kind, m.target, m.text, m.author) for m in every
                      if (m.target_kind, m.target) in wanted)
        return replace(result, memos=memos) if memos else result

    def matrix_cases(self, by: str, coder: str) -> matrix.MetaMatrix:
        return matrix.meta_matrix(self.codebook(), self.store.cases(), self.codings(coder), by, coder)

    def matrix_cross(self, by: str, coder: str, count: str = "cases", lang: str | None = None) -> matrix.CrossCaseTable:
        return matrix.cross_case(self.codebook(), self.store.cases(), self.codings(coder), by, coder, count, lang)

    def matrix_split(self, code_attr: str, by: str, coder: str, count: str = "cases",
                     where: dict[str, str] | None = None) -> matrix.SplitResult:
        return matrix.split(self.codebook(), self.store.cases(), self.codings(coder), code_attr, by, coder,
                            count, where)

    # ------------------------------------------------------------------ auto-coding
    def auto_code(self, coder: str = "auto", negation: str = "skip", fuzzy: bool = True,
                  fuzzy_threshold: float = 90.0, roles: Sequence[str] | None = None) -> "AutoCodeResult":
        """Apply the codebook's dictionary patterns to every segment, as ``coder``.

        Works from the tokens and lemmas stored at import (the language pipeline is not
        run again, except to lemmatise the patterns). Each hit codes its whole segment and
        records the pattern that fired; negated mentions are skipped (``negation="skip"``),
        kept but flagged and left out of matrices and agreement (``"flag"``), or not
        checked (``"ignore"``). The coder's previous codings are replaced.
        """
        coder = check_coder_name(coder)
        if not 0 < fuzzy_threshold <= 100:
            raise AgreementError(f"--threshold must be between 0 and 100, not {fuzzy_threshold:g}")
        if negation not in ("skip", "flag", "ignore"):
            raise AgreementError(f"--negation must be skip, flag or ignore, not '{negation}'")
        codebook = self.codebook()
        spans = self.store.segment_spans(roles)
        by_doc: dict[str, list[tuple[str, int, int]]] = {}
        ids: dict[str, tuple[int, int, int, int]] = {}
        for document, ref, start, end, seg_id, doc_id in spans:
            by_doc.setdefault(document, []).append((ref, start, end))
            ids[ref] = (seg_id, doc_id, start, end)
        tokens: dict[str, list[DocTokens]] = {}
        for name, language, text, starts, ends, lower, lemma in self.store.tokens():
            tokens.setdefault(language, []).append(DocTokens(
                name, text, array("i", starts), array("i", ends), tuple(lower), tuple(lemma)))
        if not tokens:
            raise NotFoundError("no tokenised transcript: import transcripts first")
        hits: list[Hit] = []
        try:
            for language, docs in tokens.items():
                dictionary = compile_dictionary(codebook, language, fuzzy_threshold)
                hits.extend(find_hits(dictionary, docs, by_doc, language, negation, fuzzy))
        except ValueError as exc:
            raise AgreementError(str(exc)) from None
        texts = {doc.document: doc.text for docs in tokens.values() for doc in docs}
        planned: dict[tuple[str, str], tuple[Any, ...]] = {}
        for hit in hits:
            key = (hit.segment_ref, hit.code)
            if key in planned and not (planned[key][8] == "negated" and not hit.negated):
                continue
            seg_id, doc_id, start, end = ids[hit.segment_ref]
            matched = texts[hit.document][hit.start:hit.end]
            planned[key] = (hit.code, doc_id, seg_id, start, end, "auto", f"matched: {matched}",
                            f"{hit.kind}: {hit.pattern}", "negated" if hit.negated else "ok")
        with self.store.transaction():
            self.store.replace_codings(coder, list(planned.values()))
        per_code = {code: 0 for code in codebook.code_ids()}
        for row in planned.values():
            if row[8] == "ok":
                per_code[row[0]] += 1
        per_code = {code: n for code, n in per_code.items() if n}
        flagged = sum(1 for row in planned.values() if row[8] == "negated")
        return AutoCodeResult(coder, sum(per_code.values()), flagged, per_code, negation,
                              tuple(sorted({row[7] for row in planned.values()})))

    # ------------------------------------------------------------------ agreement
    def agree(self, coders: Sequence[str], unit: str = "document", codes: Sequence[str] | None = None,
              cases: Sequence[str] | None = None, documents: Sequence[str] | None = None,
              tolerance: float = 0.0, overlap: float = 0.9, exclude_uncoded: bool = False,
              bootstrap: int = 1000, seed: int = 12345, roles: Sequence[str] | None = None) -> AgreementReport:
        """Agreement between two or more coders, per code and pooled (see qda.agreement.units).

        ``roles`` keeps only the segments (and codings) of speakers with those roles.
        """
        if len(set(coders)) != len(coders):
            raise AgreementError("a coder is named twice")
        docs = self.store.documents()
        if cases:
            self._check_names("case", cases, {d.case for d in docs})
            docs = [d for d in docs if d.case in cases]
        if documents:
            self._check_names("document", documents, {d.name for d in docs})
            docs = [d for d in docs if d.name in documents]
        names = {d.name for d in docs}
        codings = {c: [k for k in self.codings(c) if k.document in names] for c in coders}
        segments = [s for s in self.store.segments() if s.document in names]
        if roles:
            segments = [s for s in segments if s.role in roles]
            kept = {s.ref for s in segments}
            by_doc: dict[str, list[Segment]] = {}
            for seg in segments:
                by_doc.setdefault(seg.document, []).append(seg)
            codings = {c: [k for k in items if any(ref in kept for ref in segments_of(k, by_doc))]
                       for c, items in codings.items()}
        codebook = self.codebook()
        return agree(codebook, list(coders), codings, docs, segments, unit, codes, tolerance, overlap,
                     exclude_uncoded, bootstrap, seed, codebook.default_language)

    @staticmethod
    def agree_table(path: str | Path, categories: Sequence[str] | None = None, bootstrap: int = 1000,
                    seed: int = 12345) -> AgreementReport:
        """Agreement on a plain units x coders table (CSV/XLSX; one column per coder)."""
        import pandas as pd

        rows = read_table(Path(path))
        if len(rows) < 2:
            raise AgreementError(f"{path}: the table has no data rows")
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        frame = pd.DataFrame([list(r) + [None] * (len(header) - len(r)) for r in rows[1:]], columns=header)
        if header and header[0].lower() in ("unit", "units", "id", "item", "segment", "case"):
            frame = frame.drop(columns=header[0])
        return agree_table(frame, categories, bootstrap, seed)

    def write_adjudication_sheet(self, coder_a: str, coder_b: str, path: str | Path) -> int:
        """Write the segments where two coders differ, with a decision drop-down."""
        codebook = self.codebook()
        return write_adjudication_sheet(Path(path), self.store.segments(), codebook, coder_a, coder_b,
                                        self.codings(coder_a), self.codings(coder_b), codebook.default_language)

    def adjudicate(self, path: str | Path, as_coder: str) -> AdjudicationResult:
        """Record an adjudication sheet's decisions as a new coder; agreed codings carried over."""
        return adjudicate(self.store, Path(path), as_coder)

    def _check_names(self, what: str, given: Sequence[str], known: set[str]) -> None:
        unknown = [g for g in given if g not in known]
        if unknown:
            raise NotFoundError(f"unknown {what}(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")

    # ------------------------------------------------------------------ exports
    def export_workbook(self, path: str | Path, coder: str, by: str, code_attr: str | None = None,
                        lang: str | None = None, agreement: Sequence[str] | None = None) -> Path:
        """The Excel synthesis workbook for one coder, cases grouped by ``by``.

        ``agreement`` (two or more coders) adds a Reliability sheet (document unit).
        """
        from qda.export.workbook import SynthesisData, write_workbook

        codebook = self.codebook()
        codings = self.codings(coder)
        cases = self.store.cases()
        if code_attr is None and codebook.attributes:
            code_attr = codebook.attributes[0].name
        data = SynthesisData(
            codebook=codebook, cases=cases, coder=coder, lang=lang or codebook.default_language,
            meta=matrix.meta_matrix(codebook, cases, codings, by, coder),
            cross=matrix.cross_case(codebook, cases, codings, by, coder, "cases", lang or codebook.default_language),
            split=matrix.split(codebook, cases, codings, code_attr, by, coder) if code_attr else None,
            intra=[self._with_memos(matrix.intra_case(codebook, codings, c.name, coder, lang)) for c in cases],
            reliability=self.agree(agreement) if agreement else None)
        return write_workbook(Path(path), data)

    # ------------------------------------------------------------------ REFI-QDA
    def import_qdc(self, path: str | Path) -> "RefiImportReport":
        """Load the codebook of a REFI-QDA file (.qdc; also .qdpx/.qde) as the project's codebook.

        Codes keep their id when the file carries it (qda's own exports) or when their GUID
        is one of the current codebook's; codes that have codings cannot disappear.
        """
        from qda.codebook import dump_codebook
        from qda.errors import InteropError
        from qda.ingest.refi import RefiImportReport, codebook_from_refi, read_refi

        refi = read_refi(path)
        if not refi.codes:
            raise InteropError(f"{path}: the file holds no code", [
                Problem(str(path), "nothing to load", "export the codebook again, with its codes")])
        codebook, _ = codebook_from_refi(refi, self.language, Path(path).stem, self.store.codebook())
        self._save_codebook(codebook, dump_codebook(codebook), str(path))
        return RefiImportReport(
            file=str(path), origin=refi.origin, mode="codebook", in_file={"codes": refi.counts.get("codes", 0)},
            imported={"codes": len(codebook.codes), "categories": len(codebook.categories)},
            unsupported=refi.unsupported)

    def export_qdc(self, path: str | Path) -> "RefiExport":
        """Write the project's codebook as a REFI-QDA codebook (.qdc)."""
        from qda.export.refi import write_qdc

        return write_qdc(path, self.codebook())

    def export_qdpx(self, path: str | Path) -> "RefiExport":
        """Write the whole project as a REFI-QDA project (.qdpx): users (coders), codebook,
        cases with their typed attributes, text sources, codings and memos."""
        from dataclasses import replace

        from qda.export.refi import RefiExportData, write_qdpx
        from qda.ingest.refi import NoteRecord

        codings = self.store.codings()
        kept = [c for c in codings if getattr(c, "status", "ok") == "ok"]
        data = RefiExportData(
            name=self.folder.resolve().name, language=self.language, codebook=self.store.codebook(),
            documents=self.store.documents(), cases=self.store.cases(), coders=self.store.coders(), codings=kept,
            notes=[NoteRecord(*row) for row in self.store.notes()], variables=self.store.variables())
        result = write_qdpx(path, data)
        if len(kept) == len(codings):
            return result
        return replace(result, counts={**result.counts, "orphaned_codings_not_exported": len(codings) - len(kept)})

    def import_qdpx(self, path: str | Path, coder: str | None = None) -> "RefiImportReport":
        """Import a REFI-QDA project (.qdpx, or a bare .qde with its sources beside it).

        Into an empty project (no document): everything (codebook unless the project has
        one, documents, cases and attributes, coders, codings, memos). Into a project that
        has documents: the codings on the documents it shares with the file (same text; or
        same name, the codings then re-anchored on the project's text), replacing each
        coder's codings there, so that coders who worked in different tools can be
        compared. ``coder`` names the coder of all imported codings (else the file's
        users). All or nothing: a problem anywhere and nothing is written.
        """
        from dataclasses import replace

        from qda.codebook import dump_codebook
        from qda.errors import InteropError
        from qda.ingest.refi import plan_import, read_refi

        if coder is not None:
            coder = check_coder_name(coder)
        refi = read_refi(path)
        if refi.kind != "project":
            raise InteropError(f"{path}: a codebook, not a project", [
                Problem(str(path), "a .qdc holds codes only", "use: qda codebook import FILE.qdc")])
        plan = plan_import(refi, documents=self.store.documents(), codebook=self.store.codebook(),
                           language=self.language, coder=coder)
        analyses = self._refi_analyse(plan.documents)
        with self.store.transaction():
            if plan.codebook is not None:
                self.store.save_codebook(plan.codebook, dump_codebook(plan.codebook))
            for document in plan.documents:
                self._refi_add_document(document, analyses[document.name])
            held = {c.name: c.attributes for c in self.store.cases()}  # e.g. from 'qda import cases'
            for case in plan.cases:
                self.store.set_case_attributes(case.name, {**held.get(case.name, {}), **case.attributes})
            self.store.set_variables(plan.variables)
            for name in plan.coders:
                self.store.ensure_coder(name)
            doc_ids = {d.name: self.store.document_id(d.name) for d in self.store.documents()}
            replaced = sum(self.store.delete_codings(c, doc_ids[d]) for c, d in plan.replace)
            segments = {(doc_id, start, end): sid for sid, doc_id, start, end in self.store.segment_ids().values()}
            self.store.add_codings(
                (c.coder, c.code, doc_ids[c.document], segments.get((doc_ids[c.document], c.start, c.end)),
                 c.start, c.end, c.created_at, "refi", c.note) for c in plan.codings)
            self.store.add_notes((n.guid, n.name, n.text, n.author, n.created_at, n.target_kind, n.target)
                                 for n in plan.notes)
        report = plan.report
        if replaced:
            report = replace(report, imported={**report.imported, "codings_replaced": replaced})
        return report

    def _refi_analyse(self, documents: Sequence[Document]) -> dict[str, Any]:
        """Segments and tokens of new documents, as ``import_transcripts`` makes them."""
        from qda.ingest import detect_turns

        unit = self.store.get_meta("segment_unit") or "sentence"
        analyses: dict[str, Any] = {}
        for language in sorted({d.language for d in documents}):
            group = [d for d in documents if d.language == language]
            found = analyse_many([(d.text, detect_turns(d.text)) for d in group], language, unit)
            analyses.update(zip((d.name for d in group), found))
        return analyses

    def _refi_add_document(self, document: Document, analysis: Any) -> None:
        self._save_analysis(self.store.add_document(document), document, analysis)

    # ------------------------------------------------------------------ browser workspace (qda serve)
    # Small delegating methods only: checks and planning live in qda.coding.workspace.
    def workspace_document(self, name: str) -> tuple[Document, list[Segment]]:
        """A document and its segments; NotFoundError when there is none of that name."""
        document = self.store.document(name)
        if document is None:
            raise NotFoundError(f"unknown document '{name}'")
        return document, self.store.segments(document=name)

    def coding_by_id(self, coding_id: int) -> Coding | None:
        return self.store.coding(coding_id)

    def add_coding(self, coder: str, document: str, code: Any, start: Any, end: Any, memo: Any = None,
                   snap: str = "none") -> Coding:
        """Store one manual coding of ``coder`` (checked first: see qda.coding.workspace)."""
        from qda.coding.workspace import plan_coding

        with self.store.transaction():
            doc = self.store.document(document) if isinstance(document, str) else None
            # only the segments the span touches matter (snapping, the segment it equals)
            spans = all(type(v) is int for v in (start, end))
            planned = plan_coding(self.codebook(), doc,
                                  self.store.segment_bounds(document, start, end) if doc and spans else [],
                                  coder, code, start, end, memo, snap)
            return self.store.insert_codings([planned])[0]

    def change_coding(self, coder: str, coding_id: int, changes: dict[str, Any], snap: str = "none") -> Coding:
        """Change the code, span or memo of one of ``coder``'s codings."""
        from qda.coding.workspace import check_owner, plan_change

        with self.store.transaction():
            coding = check_owner(self.store.coding(coding_id), coder)
            document = self.store.document(coding.document)
            assert document is not None  # a coding's document exists (foreign key)
            return self.store.update_coding(plan_change(self.codebook(), document,
                                                        self.store.segment_bounds(coding.document), coding, changes,
                                                        snap))

    def remove_coding(self, coder: str, coding_id: int) -> Coding:
        """Delete one of ``coder``'s codings; returns it as it was (for undo)."""
        from qda.coding.workspace import check_owner

        with self.store.transaction():
            coding = check_owner(self.store.coding(coding_id), coder)
            self.store.delete_coding(coding_id)
            return coding

    def add_user(self, name: str, password: str) -> str:
        """Create (or reset the password of) a workspace account; only a scrypt hash is kept."""
        from qda.coding.workspace import check_user_name, hash_password

        name = check_user_name(name)
        hashed = hash_password(password)
        with self.store.transaction():
            self.store.set_user(name, hashed)
        return name

    def check_user(self, name: str, password: str) -> str:
        """The user name when the password is right; AuthError otherwise."""
        from qda.coding.workspace import verify_password
        from qda.errors import AuthError

        if not verify_password(self.store.user_hash(name), password):
            raise AuthError("unknown user or wrong password")
        return name

    def users(self) -> list[str]:
        return self.store.users()

    def disagreements(self, coder_a: str, coder_b: str, document: str | None = None) -> list[Any]:
        """(segment, A's codes, B's codes) where two coders differ: the adjudication sheet's rows."""
        from qda.coding import segment_disagreements

        self.codings(coder_a), self.codings(coder_b)  # unknown coders are named
        return segment_disagreements(self.store, coder_a, coder_b, document)

    def adjudicate_decisions(self, coder_a: str, coder_b: str, decisions: Sequence[Any],
                             as_coder: str) -> AdjudicationResult:
        """Record decisions made in the browser exactly as the adjudication sheet route would."""
        from qda.coding import record_adjudication

        return record_adjudication(self.store, coder_a, coder_b, decisions, as_coder, "decisions")

    def retrieve(self, coders: Sequence[str], codes: Sequence[str], mode: str = "any",
                 exclude: Sequence[str] = (), where: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Coded passages of ``codes`` (any/all, NOT ``exclude``) by ``coders``, in cases matching ``where``."""
        from qda.coding.workspace import check_code, retrieve

        codebook = self.codebook()
        for code in [*codes, *exclude]:
            check_code(codebook, code)
        cases = None
        if where:
            cases = {c.name for c in self.store.cases() if all(c.attributes.get(k) == v for k, v in where.items())}
        codings = [c for name in coders if name in self.store.coders() for c in self.codings(name)]
        texts = {d.name: d.text for d in self.store.documents()}
        return retrieve(codings, texts, list(codes), mode, list(exclude), cases)

    def search(self, query: str, regex: bool = False) -> list[dict[str, Any]]:
        """Keyword in context across every document."""
        from qda.coding.workspace import search_text

        return search_text(self.store.documents(), query, regex)

    def memos_about(self, kind: str, target: str, author: str | None = None) -> list[Any]:
        return [m for m in self.store.memos(target_kind=kind, target=target) if author is None or m.author == author]

    def add_memo(self, author: str, kind: Any, target: Any, text: Any) -> Any:
        """A memo on a document, code or case, written by ``author``."""
        from qda.coding.workspace import plan_memo

        known = {"document": lambda: {d.name for d in self.store.documents()},
                 "code": lambda: set(self.codebook().code_ids()),
                 "case": lambda: {c.name for c in self.store.cases()}}.get(kind, lambda: set())()
        with self.store.transaction():
            return self.store.insert_memo(plan_memo(kind, target, text, author, known))

    def change_memo(self, author: str, memo_id: int, text: Any) -> Any:
        from dataclasses import replace

        from qda.coding.workspace import check_memo_author, plan_memo

        with self.store.transaction():
            memo = check_memo_author(next(iter(self.store.memos(ids=[memo_id])), None), author)
            checked = plan_memo(memo.target_kind, memo.target, text, author, {memo.target})
            return self.store.update_memo(replace(memo, text=checked.text))

    def remove_memo(self, author: str, memo_id: int) -> Any:
        from qda.coding.workspace import check_memo_author

        with self.store.transaction():
            memo = check_memo_author(next(iter(self.store.memos(ids=[memo_id])), None), author)
            self.store.delete_memo(memo_id)
            return memo
