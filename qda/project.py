"""The qda project: one facade over the store, ingestion, coding, matrices and exports.

The CLI makes one call here per command. A method opens nothing but the store: it
delegates to the module that owns the work and, for a write, commits the
:class:`qda.models.WritePlan` that module returns in one transaction (:meth:`Project.commit`).
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qda.errors import CodebookError, NeedsConfirmation, NotFoundError, Problem, ProjectError, WouldReplaceError
from qda.ingest import read_ratings
from qda.ingest.languages import TRAINED, is_fast, lemma_key, spacy_codes
from qda.ingest.languages import check_language as check_language_code
from qda.ingest.languages import name as language_name
from qda.ingest.plan import (
    CasesImport,
    ImportReport,
    TranscriptImport,
    choose_language,
    document_languages,
    language_notes,
    plan_cases,
    plan_survey,
    plan_transcripts,
    read_transcripts,
)
from qda.ingest.segment import SEGMENT_UNITS
from qda.models import (
    STATUS_RULES,
    Account,
    AgreementUnit,
    Case,
    Codebook,
    CodeMatch,
    Coding,
    CooccurrenceLevel,
    CountMode,
    Document,
    DocumentFormat,
    FigureKind,
    FigureSize,
    Memo,
    NegationMode,
    ReviewAction,
    ReviewOrder,
    SearchMode,
    Segment,
    SegmentUnit,
    Similarity,
    WordUnit,
    WritePlan,
    counting_statuses,
    is_counted,
)
from qda.results import Note, Progress, TableView, frame_view, json_dict, no_progress
from qda.storage import HistoryEntry, ProjectStorage
from qda.store import (
    BACKUP_DIR,
    ENV_VAR,
    Store,
    backup_counts,
    find_project_dir,
    list_backups,
    project_names,
    resolve_backup,
    restore_damaged,
)

if TYPE_CHECKING:  # numpy-based and REFI-QDA modules are imported when used: most commands never need them
    import pandas as pd

    from qda import analysis, matrix, suggest
    from qda.agreement.units import AgreementReport
    from qda.coding import AdjudicationResult, SheetImport
    from qda.coding.accounts import AccountList, BlindMode
    from qda.coding.auto import AutoCodeResult
    from qda.coding.codes import CodebookEdit, CodebookFile
    from qda.coding.regions import Comparison
    from qda.coding.taguette import TaguetteCodebookExport, TaguetteImport
    from qda.coding.workspace import (
        CodedHits,
        ComparisonView,
        DocumentList,
        SearchHits,
        WorkspaceCodebook,
        WorkspaceDocument,
        WorkspaceRetrieval,
    )
    from qda.export.document import CodedDocument
    from qda.ingest.documents import DocumentDeletion, Resplit
    from qda.ingest.sets import DocumentSets
    from qda.refi.report import RefiExport, RefiImportReport
    from qda.suggest.review import Retrained, ReviewDecision, ReviewQueue, ReviewTally

if not TYPE_CHECKING:
    class _LazyModule:
        """A module imported on first use: qda.analysis brings numpy and pandas (~0.3 s),
        which commands like ``qda status`` never need."""

        def __init__(self, name: str) -> None:
            self._name = name

        def __getattr__(self, attr: str) -> Any:
            return getattr(importlib.import_module(self._name), attr)

    analysis = _LazyModule("qda.analysis")
    matrix = _LazyModule("qda.matrix")  # ~10 ms of start-up that only matrix commands need
    suggest = _LazyModule("qda.suggest")  # scikit-learn: only qda suggest needs it

__all__ = ["CasesImport", "ENV_VAR", "ImportReport", "Project", "ProjectStatus", "SpeakerList",
           "TranscriptImport", "find_project_dir"]



@dataclass(frozen=True)
class SpeakerList:
    """Speakers, their role and number of segments."""

    rows: tuple[tuple[str, str | None, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"speakers": [{"speaker": s, "role": r, "segments": n} for s, r, n in self.rows]}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([{"speaker": s, "role": r or "", "segments": n} for s, r, n in self.rows],
                            columns=["speaker", "role", "segments"])

    def to_table(self) -> TableView:
        return frame_view(self.to_frame())


# how `qda status` tells what each status takes part in (STATUS_RULES; docs/safety.md)
_COUNTED = {status: ("counted only when its coder is named" if rule.counts and rule.only_when_named
                     else "counted" if rule.counts else "kept, not counted")
            for status, rule in STATUS_RULES.items()}


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
    language: str | None = None  # the project's: documents whose language detection is unsure of get it
    languages: dict[str, int] = dataclasses.field(default_factory=dict)  # documents per language
    statuses: dict[str, int] = dataclasses.field(default_factory=dict)  # codings per status other than ok

    @property
    def mixed(self) -> bool:
        """Whether the documents are in more than one language."""
        return len(self.languages) > 1

    def to_dict(self) -> dict[str, Any]:
        return json_dict({**self.__dict__, "mixed": self.mixed})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        row = {k: v for k, v in self.__dict__.items() if k not in ("coders", "languages", "statuses")}
        row.update({f"codings: {name}": n for name, n in self.coders.items()})
        row.update({f"documents in {code}": n for code, n in self.languages.items()})
        row.update({f"codings {status}": n for status, n in self.statuses.items()})
        return pd.DataFrame([row])

    def to_table(self) -> TableView:
        """One ``key: value`` line per count, the coders with their number of codings."""
        shown = {key: value for key, value in self.to_dict().items() if key not in ("languages", "mixed", "statuses")}
        shown["coders"] = ", ".join(f"{name} ({n} codings)" for name, n in self.coders.items()) or "none"
        if self.codebook is None:
            shown["codebook"] = "none loaded (qda codebook load FILE.yaml)"
        lines = [Note(f"{key}: {value}") for key, value in shown.items()]
        if self.languages:
            counts = ", ".join(f"{language_name(code)} ({code}) {n}" for code, n in self.languages.items())
            lines.append(Note(f"documents by language: {counts}" + (" (a mixed project: each document is "
                                                                     "segmented and lemmatised in its own language)"
                                                                     if self.mixed else "")))
        if self.statuses:
            lines.append(Note("codings by status: " + ", ".join(
                f"{n} {status} ({_COUNTED.get(status, 'unknown status, not counted')})"
                for status, n in self.statuses.items())))
        return TableView(lead=tuple(lines))


class Project:
    """An open qda project folder."""

    def __init__(self, folder: Path, store: ProjectStorage) -> None:
        self.folder = folder
        self._store = store
        self.progress: Progress = no_progress  # a front end watching long steps sets its own

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def init(cls, folder: str | Path, language: str | None = None, unit: SegmentUnit = SegmentUnit.SENTENCE) -> Project:
        """Create a new project folder; ``unit`` (sentence, paragraph, turn) is what coders code.

        Without ``language``, the first transcripts imported decide it (see import_transcripts).
        """
        folder = Path(folder)
        if language is not None:
            check_language_code(language)  # an unknown code, or one whose extra is missing: a clear error
        if unit not in SEGMENT_UNITS:
            raise ProjectError(f"unknown segment unit '{unit}' (use one of: {SegmentUnit.words()})")
        store = Store.create(folder)
        with store.transaction():
            if language is not None:
                store.set_meta("language", language)
            store.set_meta("segment_unit", unit)
        return cls(folder, store)

    @classmethod
    def open(cls, folder: str | Path | None = None) -> Project:
        """Open the project at ``folder`` (or found from the environment / working folder)."""
        path = find_project_dir(folder)
        return cls(path, Store.open(path))

    @staticmethod
    def peek(folder: str | Path | None = None) -> dict[str, Any]:
        """A project's names (coders, codes, cases, case and code attributes) and schema
        version, read without writing anything: for shell completion and ``qda doctor``."""
        return project_names(folder)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def language(self) -> str:
        return self._store.get_meta("language") or "fr"

    def status(self) -> ProjectStatus:
        codebook = self._store.codebook()
        sizes = self._store.sizes()
        # each coder's codings that count, the coder being named on its line
        per_coder = self._store.codings_per_coder(counting_statuses(coder_named=True))
        coders = {name: per_coder.get(name, 0) for name in self._store.coders()}
        statuses = {status: n for status, n in self._store.codings_per_status().items() if status != "ok"}
        return ProjectStatus(str(self.folder), sizes["documents"], sizes["cases"], sizes["segments"],
                             codebook.name if codebook else None, len(codebook.codes) if codebook else 0, coders,
                             self._store.get_meta("language"), self._store.document_languages(), statuses)

    # ------------------------------------------------------------------ writing
    def commit(self, plan: WritePlan) -> int:
        """Store a plan in one transaction, one store method per kind (see :class:`WritePlan`).

        Returns how many stored codings the plan replaced.
        """
        store = self._store
        with store.transaction():
            merged = store.rekey_codes(plan.code_keys) if plan.code_keys else 0
            if plan.codebook is not None:
                store.save_codebook(plan.codebook, plan.codebook_source)
            store.save_documents(plan.documents)
            if plan.tidy_cases:
                store.drop_empty_cases()
            store.save_cases(plan.cases)
            store.save_variables(plan.variables)
            for coder in plan.coders:
                store.ensure_coder(coder)
            replaced = store.replace_codings(plan.replace, plan.codings)
            store.update_codings(plan.moved)
            store.insert_memos(plan.memos)
            store.save_document_sets(plan.document_sets)
            for key, value in plan.meta.items():
                store.set_meta(key, value)
        return replaced + merged

    @property
    def _unit(self) -> SegmentUnit:
        return SegmentUnit(self._store.get_meta("segment_unit") or SegmentUnit.SENTENCE)

    # ------------------------------------------------------------------ transcripts
    def import_transcripts(self, paths: Sequence[str | Path], *, case: str | None = None,
                           language: str | None = None, replace: bool = False, jobs: int = 1,
                           fast: bool = False) -> ImportReport:
        """Import transcript files (all or nothing).

        The document name and, unless ``case`` is given, the case are the file name stem.
        An unchanged file is a no-op. A changed file without codings is replaced; with
        codings it is refused unless ``replace`` is set, in which case every coding is
        re-anchored on the revised text (orphans are kept and flagged) and the old text
        is archived. Each document gets ``language`` when given, else the language it
        reads as when detection is sure of it, else the project's. ``fast``: rule-based
        sentences and lookup lemmas even where a trained pipeline exists (French).
        """
        from qda.coding.auto import lemmas_key, pattern_lemmas, pattern_lemmas_meta

        project_language = self._store.get_meta("language")  # None: a project created without --lang
        loaded = read_transcripts(paths, self.progress)
        default = choose_language(language or project_language, loaded)
        assigned = document_languages(loaded, language, default)
        plan, report = plan_transcripts(self._store, loaded, case, language=default, unit=self._unit, replace=replace,
                                        jobs=jobs,
                                        progress=self.progress,
                                        languages={name: item.language for name, item in assigned.items()}, fast=fast,
                                        language_sources={name: item.how for name, item in assigned.items()})
        if project_language is None:  # its first transcripts decide the project's language
            plan = dataclasses.replace(plan, meta={**plan.meta, "language": default})
        for used in sorted({lemma_key(write.document.language, fast) for write in plan.documents
                            if write.tokens is not None}):
            # The pipeline is loaded now: lemmatise the codebook's patterns so code auto need not load it.
            known = pattern_lemmas(self._store.get_meta(lemmas_key(used)), used)
            plan = dataclasses.replace(plan, meta={**plan.meta, **pattern_lemmas_meta(self._store.codebook(), used,
                                                                                        known)})
        # a revised text replaces the stored one (kept in document_versions): undoable, as --replace is
        replacing = replace or any(f.status in ("replaced", "revised") for f in report.files)
        with self._recorded("import transcripts" + " --replace" * replace) if replacing else nullcontext():
            self.commit(plan)
        return language_notes(report, loaded, project_language or default, chosen=project_language is None,
                              assigned=assigned)

    def import_survey(self, path: str | Path, text_columns: Sequence[str], *, id_column: str | None = None,
                      language: str | None = None) -> ImportReport:
        """Survey data: one row = one document (and case); ``text_columns`` hold the answers.

        Each answer becomes a turn whose speaker is its column header, so open questions can
        be told apart; every other column becomes a case attribute (as NVivo datasets and
        QDA Miner survey import do).
        """
        # a project created without --lang takes the language of the answers (as for transcripts)
        plan, report = plan_survey(self._store, Path(path), text_columns, id_column=id_column,
                                   language=language or self._store.get_meta("language"), unit=self._unit)
        self.commit(plan)
        return report

    def segments(self, document: str | None = None, case: str | None = None) -> list[Segment]:
        return self._store.segments(document=document, case=case)

    def document_deletion(self, name: str) -> DocumentDeletion:
        """What deleting document ``name`` would remove (codings per coder, memos), changing nothing."""
        return self._plan_deletion(name)[1]

    def _plan_deletion(self, name: str) -> tuple[WritePlan, DocumentDeletion]:
        from qda.ingest.documents import plan_document_deletion

        names = [d.name for d in self._store.documents()]
        return plan_document_deletion(self._store, name, names,
                                      memos=self._store.memos(target_kind="document", target=name),
                                      versions=len(self._store.document_versions(name)))

    def delete_document(self, name: str) -> DocumentDeletion:
        """Delete a document with its segments, codings, memos and earlier texts (snapshot first:
        ``qda undo`` brings it back)."""
        plan, report = self._plan_deletion(name)
        with self._recorded(f"document delete {name}"):
            self.commit(plan)
        return replace(report, deleted=True)

    def resplit_document(self, name: str, language: str | None = None, unit: SegmentUnit | None = None) -> Resplit:
        """Segment a stored document again (another language's rules, another unit); codings keep
        their characters, segment refs change. Snapshot first: ``qda undo`` brings the old segments back."""
        from qda.ingest.documents import plan_resplit

        names = [d.name for d in self._store.documents()]
        plan, report = plan_resplit(self._store, name, names, language=language, unit=unit or self._unit,
                                    project_language=self.language)
        if report.changed:
            options = "".join(f" --{k} {v}" for k, v in (("lang", language), ("unit", unit)) if v)
            with self._recorded(f"document resplit {name}{options}"):
                self.commit(plan)
        return report

    def speakers(self, set_roles: dict[str, str] | None = None) -> SpeakerList:
        """Speakers with their role; ``set_roles`` (speaker -> role) changes roles first."""
        if set_roles:
            known = {name for name, _, _ in self._store.speakers()}
            unknown = [name for name in set_roles if name not in known]
            if unknown:
                raise NotFoundError(f"unknown speaker(s): {', '.join(unknown)} (speakers: {', '.join(sorted(known))})")
            command = "speakers " + " ".join(f"--set-role {name}={role}" for name, role in set_roles.items())
            with self._recorded(command):
                for name, role in set_roles.items():
                    self._store.set_speaker_role(name, role.strip() or None)
        return SpeakerList(tuple(self._store.speakers()))

    # ------------------------------------------------------------------ cases
    def import_cases(self, path: str | Path) -> CasesImport:
        """Case attributes from a CSV/XLSX table: a ``case`` column, every other column an attribute."""
        plan, report = plan_cases(Path(path))
        with self._recorded(f"import cases {Path(path).name}"):
            self.commit(plan)
        return report

    def cases(self) -> list[Case]:
        return self._store.cases()

    # ------------------------------------------------------------------ codebook
    @staticmethod
    def validate_codebook(path: str | Path) -> Codebook:
        """Validate a codebook file without a project."""
        from qda.codebook import load_codebook  # pydantic: only when a codebook file is read

        return load_codebook(path)

    def load_codebook(self, path: str | Path) -> Codebook:
        """Load (or reload) the project's codebook; codes in use cannot disappear."""
        from qda.codebook import load_codebook, plan_codebook
        from qda.coding.codes import codebook_file_meta

        codebook = load_codebook(path)
        source = Path(path).read_text(encoding="utf-8-sig")
        plan = plan_codebook(codebook, source, str(path), in_use=self._store.codes_in_use())
        # the file and its content are recorded: codes added from the page are written back into it
        with self._recorded(f"codebook load {Path(path).name}"):
            self.commit(dataclasses.replace(plan, meta={**plan.meta, **codebook_file_meta(self.folder, Path(path),
                                                                                           source)}))
        return codebook

    def codebook(self) -> Codebook:
        codebook = self._store.codebook()
        if codebook is None:
            raise NotFoundError("the project has no codebook yet: qda codebook load FILE.yaml")
        return codebook

    # ------------------------------------------------------------------ codes born while coding
    def add_code(self, code_id: str, labels: dict[str, str], *, parent: str | None = None, definition: str = "",
                 author: str = "") -> CodebookEdit:
        """Add a code to the codebook's YAML file and to the project, both or neither (see qda.coding.codes)."""
        from qda.coding.codes import CodebookEdit, NewCode, code_write_plan, plan_add_code

        problems: list[Problem] = []
        file = self._codebook_file(problems)
        text, codebook = plan_add_code(self.codebook(), file, NewCode(code_id, labels, parent, definition, author),
                                       problems=problems)
        assert file is not None  # plan_add_code refuses without the file
        with self._recorded(f"codebook add {code_id}"):
            self._commit_codebook_file(file, text, code_write_plan(codebook, text, {}))
        return CodebookEdit("add", str(file.path), (code_id,))

    def rename_code(self, old: str, *, new_id: str | None = None, label: str | None = None,
                    lang: str | None = None) -> CodebookEdit:
        """Give a code a new id and/or label, in the YAML file and the project; its codings and memos follow."""
        from qda.coding.codes import CodebookEdit, code_write_plan, plan_rename

        problems: list[Problem] = []
        file = self._codebook_file(problems)
        text, codebook = plan_rename(self.codebook(), file, old, new_id=new_id, label=label, lang=lang,
                                     problems=problems)
        assert file is not None
        keys = {old: new_id} if new_id and new_id != old else {}
        counts: dict[str, int] = {}
        for coding in self._store.codings():
            if coding.code == old:
                counts[coding.coder] = counts.get(coding.coder, 0) + 1
        renamed = " ".join(part for part in (f"codebook rename {old}", new_id if keys else "",
                                             f"--label {label}" if label else "") if part)
        with self._recorded(renamed):
            self._commit_codebook_file(file, text, code_write_plan(codebook, text, {}, code_keys=keys))
        return CodebookEdit("rename", str(file.path), (old, new_id or old), counts)

    def merge_codes(self, sources: Sequence[str], target: str) -> CodebookEdit:
        """Merge codes into ``target``: every coder's codings move to it (a passage coded twice
        becomes one coding), the sources leave the YAML file and the project. Snapshot first."""
        from qda.coding.codes import CodebookEdit, code_write_plan, plan_merge

        problems: list[Problem] = []
        file = self._codebook_file(problems)
        involved = {*sources, target}
        codings = [c for c in self._store.codings() if c.code in involved]
        merge = plan_merge(self.codebook(), file, list(sources), target=target, codings=codings, problems=problems)
        assert file is not None
        with self._recorded(f"codebook merge {' '.join(sources)} --into {target}"):
            self._commit_codebook_file(file, merge.text, code_write_plan(merge.codebook, merge.text, {},
                                                                         code_keys=dict.fromkeys(sources, target)))
        return CodebookEdit("merge", str(file.path), (*sources, target), merge.moved, merge.duplicates, merge.notes)

    def _codebook_file(self, problems: list[Problem]) -> CodebookFile | None:
        from qda.coding.codes import FILE_KEY, SHA_KEY, open_codebook_file

        return open_codebook_file(self.folder, self._store.get_meta(FILE_KEY), self._store.get_meta(SHA_KEY),
                                  stored_source=self._store.codebook_source(), problems=problems)

    def _commit_codebook_file(self, file: CodebookFile, text: str, plan: WritePlan) -> int:
        """Commit ``plan`` and replace the codebook file by ``text``: both, or neither.

        The file is written last inside the transaction, after every row and before COMMIT,
        through a temporary file renamed over it (qda.files.write_atomically): a failed write
        rolls the database back. Only a failing COMMIT after the rename could leave the file
        ahead of the project; the SHA-256 recorded in the project then no longer matches the
        file, so the next change is refused until 'qda codebook load' takes the file in:
        nothing is lost and nothing is overwritten unseen.
        """
        from qda.files import write_atomically

        with self._store.transaction():
            replaced = self.commit(plan)
            try:
                unchanged = file.path.read_text(encoding="utf-8-sig") == file.text
            except (OSError, UnicodeDecodeError):
                unchanged = False
            if not unchanged:  # edited by someone else while this change was planned
                raise CodebookError(f"{file.path}: the file changed while qda was editing it; nothing was written",
                                    [Problem(str(file.path), "load it again (qda codebook load), then retry")])
            write_atomically(file.path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return replaced

    # ------------------------------------------------------------------ coding
    def write_coding_sheet(self, coder: str, path: str | Path, *, case: str | None = None,
                           roles: Sequence[str] | None = None) -> int:
        """Write a coding sheet for ``coder``, pre-filled with the coder's existing codings.

        ``roles`` keeps only segments of speakers with those roles (e.g. respondent).
        """
        from qda.coding import check_coder_name, sheet_segments, write_sheet

        coder = check_coder_name(coder)
        codebook = self.codebook()
        with _collector_paused():
            segments = sheet_segments(self._store.segments(case=case), case, roles)
            existing = self._store.codings(coder=coder) if coder in self._store.coders() else []
            return write_sheet(Path(path), segments, codebook, coder=coder, existing=existing,
                               lang=codebook.default_language)

    def import_codings(self, path: str | Path, coder: str, allow_empty: bool = False) -> SheetImport:
        """Import a coder's sheet (xlsx/csv); all rows valid or nothing imported."""
        from qda.coding import plan_sheet

        with _collector_paused(), self._store.holding_segments():
            plan, result = plan_sheet(self._store, Path(path), coder, allow_empty=allow_empty)
            with self._recorded(f"code import {Path(path).name} --coder {coder}"):
                replaced = self.commit(plan)
            return replace(result, replaced=replaced)

    def coders(self) -> list[str]:
        return self._store.coders()

    def codings(self, coder: str, codes: Sequence[str] | None = None, named: bool = True) -> list[Coding]:
        """A coder's codings that count (``STATUS_RULES``), of ``codes`` only when given; an
        unknown coder is an error naming the known ones. ``named``: the user named this coder
        (a machine's suggestions count only then), not "every coder"."""
        if coder not in self._store.coders():
            known = ", ".join(self._store.coders()) or "none yet"
            raise NotFoundError(f"unknown coder '{coder}' (coders: {known})")
        # Negated mentions flagged by auto-coding, and codings orphaned by a transcript
        # revision, stay in the project (and in reports) but are not uses of the code.
        return [c for c in self._store.codings(coder=coder, codes=codes) if is_counted(c, coder_named=named)]

    def _tallies(self, coder: str) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int], set[str]]:
        """A coder's passages that count per (case, code), counted by the store, those of them
        longer than zero characters (what a quote can show), and the documents coded: the
        counts matrices, tests, figures and the coverage line need without an object per
        coding (63,000 at 1,000 interviews)."""
        if coder not in self._store.coders():
            self.codings(coder)  # the error naming the known coders
        case_of = dict(self._store.document_cases())
        passages: dict[tuple[str, str], int] = {}
        spans: dict[tuple[str, str], int] = {}
        documents: set[str] = set()
        for document, code, n, k in self._store.coding_tallies(coder, counting_statuses(coder_named=True)):
            key = (case_of[document], code)
            passages[key] = passages.get(key, 0) + n
            documents.add(document)
            if k:
                spans[key] = spans.get(key, 0) + k
        return passages, spans, documents

    def coverage(self, coders: Sequence[str]) -> dict[str, tuple[int, int]]:
        """For each coder, how many documents they coded (with a coding that counts) out of
        the project's documents: the line every report prints ("coder X coded 1 of 11 documents")."""
        total = len(self._store.documents())
        counted = counting_statuses(coder_named=True)
        coverage = {}
        for coder in dict.fromkeys(coders):
            if coder not in self._store.coders():
                self.codings(coder)  # the error naming the known coders
            # document names only: building every coding to count its documents cost a second
            coverage[coder] = (len(set(self._store.coding_columns(coder, counted)["document"])), total)
        return coverage

    # ------------------------------------------------------------------ matrices
    def matrix_case(self, case: str, coder: str, lang: str | None = None) -> matrix.IntraCaseMatrix:
        if case not in {c.name for c in self._store.cases()}:
            known = ", ".join(c.name for c in self._store.cases()) or "none"
            raise NotFoundError(f"unknown case '{case}' (cases: {known})")
        return self._with_memos(self._placed(matrix.intra_case(self.codebook(), self.codings(coder), case, coder=coder,
                                                               lang=lang)))

    def _placed(self, result: matrix.IntraCaseMatrix,
                segments: dict[str, list[Segment]] | None = None) -> matrix.IntraCaseMatrix:
        """Span codings' quotes tagged with the segments they fall in and the speaker (not ``[P6, ?]``);
        ``segments``: every document's, when many matrices are placed (read once, without text)."""
        if segments is None:
            segments = {}
            for seg in self._store.segments(case=result.case, text=False):
                segments.setdefault(seg.document, []).append(seg)
        return matrix.place_quotes(result, segments)

    def _placed_all(self, results: Sequence[matrix.IntraCaseMatrix]) -> list[matrix.IntraCaseMatrix]:
        """:meth:`_placed` and :meth:`_with_memos` for many cases, reading segments, memos and
        documents once (per case, the workbook's 1,000 intra-case matrices read them 1,000 times)."""
        segments: dict[str, list[Segment]] = {}
        if any(q.segment is None for m in results for r in m.rows for q in r.quotes):
            for seg in self._store.segments(text=False):
                segments.setdefault(seg.document, []).append(seg)
        memos = self._store.memos()
        documents: dict[str, set[str]] = {}
        if memos:
            for name, case in self._store.document_cases():
                documents.setdefault(case, set()).add(name)
        return [self._with_memos(self._placed(m, segments), memos, documents) for m in results]

    def _with_memos(self, result: matrix.IntraCaseMatrix, every: Sequence[Memo] | None = None,
                    documents: dict[str, set[str]] | None = None) -> matrix.IntraCaseMatrix:
        """The memos on a case, its documents and the codes it uses, added to its intra-case matrix
        (``every`` memo and the ``documents`` of each case: given when placing many)."""
        from dataclasses import replace

        every = self._store.memos() if every is None else every
        if not every:
            return result
        docs = (documents.get(result.case, set()) if documents is not None
                else {d.name for d in self._store.documents() if d.case == result.case})
        wanted = {("case", result.case)} | {("document", d) for d in docs} | {("code", r.code) for r in result.rows}
        memos = tuple((m.target_kind, m.target, m.text, m.author) for m in every
                      if (m.target_kind, m.target) in wanted)
        return replace(result, memos=memos) if memos else result

    def matrix_cases(self, by: str, coder: str, lang: str | None = None) -> matrix.MetaMatrix:
        return matrix.meta_matrix(self.codebook(), self._store.cases(), self.codings(coder), by=by, coder=coder,
                                  lang=lang)

    def matrix_cross(self, by: str, coder: str, *, count: CountMode = CountMode.CASES,
                     lang: str | None = None) -> matrix.CrossCaseTable:
        return matrix.cross_case(self.codebook(), self._store.cases(), self.codings(coder), by=by, coder=coder,
                                 count=count, lang=lang)

    def matrix_split(self, code_attr: str, by: str, coder: str, *, count: CountMode = CountMode.CASES,
                     where: dict[str, str] | None = None, lang: str | None = None) -> matrix.SplitResult:
        return matrix.split(self.codebook(), self._store.cases(), self.codings(coder), code_attr=code_attr, by=by,
                            coder=coder,
                            count=count, where=where, lang=lang)

    # ------------------------------------------------------------------ auto-coding
    def auto_code(self, *, coder: str = "auto", negation: NegationMode = NegationMode.SKIP, fuzzy: bool = True,
                  fuzzy_threshold: float = 90.0, roles: Sequence[str] | None = None) -> AutoCodeResult:
        """Apply the codebook's dictionary patterns to every segment, as ``coder``.

        Works from the tokens and lemmas stored at import (the language pipeline is not
        run again, except to lemmatise the patterns). Each hit codes its whole segment and
        records the pattern that fired; negated mentions are skipped (``negation="skip"``),
        kept but flagged and left out of matrices and agreement (``"flag"``), or not
        checked (``"ignore"``). The coder's previous codings are replaced.
        """
        from qda.coding import check_coder_name
        from qda.coding.auto import lemmas_key, pattern_lemmas, plan_auto_coding

        coder = check_coder_name(coder)
        keys = [*spacy_codes(), *(lemma_key(code, True) for code in TRAINED)]
        known = {key: pattern_lemmas(self._store.get_meta(lemmas_key(key)), key)
                 for key in keys if self._store.get_meta(lemmas_key(key)) is not None}
        fast = {name for name, (_, analysis) in self._store.document_analyses().items() if is_fast(analysis)}
        # documents imported with --fast have lookup lemmas: their patterns are lemmatised alike
        tokens = ((name, lemma_key(language, name in fast), *rest) for name, language, *rest in self._store.tokens())
        with _collector_paused():
            plan, result = plan_auto_coding(self.codebook(), self._store.segment_places(roles), tokens,
                                            coder=coder, negation=negation, fuzzy=fuzzy,
                                            fuzzy_threshold=fuzzy_threshold, known=known, progress=self.progress)
        with _collector_paused(), self._recorded(f"code auto --coder {coder}"):
            self.commit(plan)
        return result

    # ------------------------------------------------------------------ agreement
    def agree(self, coders: Sequence[str], *, unit: AgreementUnit = AgreementUnit.DOCUMENT,
              codes: Sequence[str] | None = None,
              cases: Sequence[str] | None = None, documents: Sequence[str] | None = None,
              tolerance: float = 0.0, overlap: float = 0.9, exclude_uncoded: bool = False,
              bootstrap: int = 1000, seed: int = 12345, roles: Sequence[str] | None = None) -> AgreementReport:
        """Agreement between two or more coders, per code and pooled (see qda.agreement.units).

        ``roles`` keeps only the segments (and codings) of speakers with those roles.
        """
        from qda.agreement.units import CodingSpans, SegmentSpans, agree_in

        known = self._store.coders()
        for coder in coders:
            if coder not in known:
                raise NotFoundError(f"unknown coder '{coder}' (coders: {', '.join(known) or 'none yet'})")
        with _collector_paused():
            # Columns, not an object per coding or segment: a large project has 10^5 of each.
            # Only codings that count (as in self.codings()); agreement always names its coders.
            codings = {c: CodingSpans(**self._store.coding_columns(c, counting_statuses(coder_named=True)))
                       for c in coders}
            # Only the segment unit and a role filter use segments: the other units skip loading them.
            columns = self._store.segment_columns() if unit == "segment" or roles else None
            segments = SegmentSpans(columns.pop("id"), **columns) if columns is not None else SegmentSpans(
                [], [], [], [], [], [])
            return agree_in(self.codebook(), coders, codings, documents=self._store.documents(), segments=segments,
                            unit=unit,
                            codes=codes, cases=cases, names=documents, roles=roles, tolerance=tolerance,
                            overlap=overlap, exclude_uncoded=exclude_uncoded, bootstrap=bootstrap, seed=seed,
                            progress=self.progress)

    @staticmethod
    def agree_table(path: str | Path, *, categories: Sequence[str] | None = None, bootstrap: int = 1000,
                    seed: int = 12345) -> AgreementReport:
        """Agreement on a plain units x coders table (CSV/XLSX; one column per coder)."""
        from qda.agreement.units import agree_table

        return agree_table(read_ratings(path), categories=categories, bootstrap=bootstrap, seed=seed)

    def write_adjudication_sheet(self, coder_a: str, coder_b: str, path: str | Path) -> int:
        """Write the regions where two coders differ (see :mod:`qda.coding.regions`), with a decision drop-down."""
        codebook = self.codebook()
        from qda.coding import compare_in_store, write_adjudication_sheet

        comparison = compare_in_store(self._store, coder_a, coder_b)
        texts = {d.name: d.text for d in self._store.documents()}
        return write_adjudication_sheet(Path(path), comparison, self._store.segment_spans(), texts=texts,
                                        codebook=codebook,
                                        lang=codebook.default_language)

    def adjudicate(self, path: str | Path, as_coder: str, replace: bool = False) -> AdjudicationResult:
        """Record an adjudication sheet's decisions as a coder; agreed codings carried over.

        A coder who already has codings is replaced only with ``replace`` (else
        :class:`WouldReplaceError`, and nothing is written); a snapshot is taken first.
        """
        from qda.coding import plan_adjudication

        plan, result = plan_adjudication(self._store, Path(path), as_coder)
        return self._record_adjudication(plan, result, replace, f"adjudicate {Path(path).name} --coder {as_coder}",
                                         "add --replace to replace them, or choose another --coder")

    def _record_adjudication(self, plan: WritePlan, result: AdjudicationResult, replace: bool, command: str,
                             hint: str) -> AdjudicationResult:
        from dataclasses import replace as changed

        existing = self._store.codings(coder=result.coder) if result.coder in self._store.coders() else []
        documents = len({c.document for c in existing})
        if existing and not replace:
            raise WouldReplaceError(result.coder, len(existing), documents,
                                    f"{hint} (a snapshot is taken first: 'qda undo' brings them back)")
        with self._recorded(command):
            self.commit(plan)
        # the store keeps a coding planned again unchanged (same id): only the others were replaced
        kept = {(c.code, c.document, c.start, c.end) for c in plan.codings}
        gone = [c for c in existing if (c.code, c.document, c.start, c.end) not in kept]
        return changed(result, replaced=len(gone), replaced_documents=len({c.document for c in gone}),
                       previous=len(existing))

    # ------------------------------------------------------------------ exports
    def export_workbook(self, path: str | Path, coder: str, by: str, *, code_attr: str | None = None,
                        lang: str | None = None, agreement: Sequence[str] | None = None) -> Path:
        """The Excel synthesis workbook for one coder, cases grouped by ``by``.

        ``agreement`` (two or more coders) adds a Reliability sheet (document unit).
        """
        from dataclasses import replace

        from qda.export.workbook import synthesis_data, write_workbook

        # The coder's codings, the cases and the codebook are read once for every sheet (each
        # read of 60,000 codings costs a second at 1,000 interviews). The collector paused: its
        # passes over the 180,000 cells of a 1,000-interview workbook took 0.8 s of 4.3.
        with _collector_paused():
            codebook, cases = self.codebook(), self._store.cases()
            if coder not in self._store.coders():
                self.codings(coder)  # the error naming the known coders
            # Every sheet but the quotes needs the coder's passages per case and code, and the
            # intra-case sheet every coding's quote: read once as rows, no Coding built (0.34 s
            # -> 0.16 s at 1,000 interviews); the quotes read the codings of the few cases they
            # can come from, as the report does.
            rows = self._store.quote_rows(coder, counting_statuses(coder_named=True))
            usage, spans = matrix.passage_tallies((r[0], r[1], r[2], r[5], r[6]) for r in rows)
            data = synthesis_data(codebook, cases, [], coder=coder, by=by, code_attr=code_attr, lang=lang,
                                  reliability=self.agree(agreement) if agreement else None, usage=usage,
                                  intra=matrix.intra_cases(codebook, rows, [c.name for c in cases], coder=coder,
                                                           lang=lang),
                                  cooccurrence=analysis.cooccurrence(codebook, cases, [], codings=[], usage=usage,
                                                                     coder=coder, level=CooccurrenceLevel.CASE, by=by),
                                  quotes=self._report_quotes(codebook, cases, coder, by, 2, spans, None))
            # the coder's documents from the rows at hand (coverage() reads them again)
            others = [c for c in dict.fromkeys(agreement or ()) if c != coder]
            coverage = {coder: (len({r[2] for r in rows}), len(self._store.documents())),
                        **self.coverage(others)}
            data = replace(data, intra=self._placed_all(data.intra), coverage=coverage)
            del rows  # their memory goes to the workbook's cells (fewer pages asked of the system)
            return write_workbook(Path(path), data)

    # ------------------------------------------------------------------ REFI-QDA
    def import_qdc(self, path: str | Path, *, allow_outside: bool = False) -> RefiImportReport:
        """Load the codebook of a REFI-QDA file (.qdc; also .qdpx/.qde) as the project's codebook.

        Codes keep their id when the file carries it (qda's own exports) or when their GUID
        is one of the current codebook's; codes that have codings cannot disappear.
        """
        from qda.refi.plan import plan_codebook_import

        plan, report = plan_codebook_import(path, self.language, self._store.codebook(),
                                            in_use=self._store.codes_in_use(),
                                            allow_outside=allow_outside)
        with self._recorded(f"codebook import {Path(path).name}"):
            self.commit(plan)
        return report

    def export_qdc(self, path: str | Path) -> RefiExport:
        """Write the project's codebook as a REFI-QDA codebook (.qdc)."""
        from qda.refi.write import write_qdc

        return write_qdc(path, self.codebook())

    def export_qdpx(self, path: str | Path) -> RefiExport:
        """Write the whole project as a REFI-QDA project (.qdpx): users (coders), codebook,
        cases with their typed attributes, text sources, codings and memos."""
        from qda.refi.write import RefiExportData, write_qdpx

        store = self._store
        return write_qdpx(path, RefiExportData(
            name=self.folder.resolve().name, language=self.language, codebook=store.codebook(),
            documents=store.documents(), cases=store.cases(), coders=store.coders(), codings=store.codings(),
            memos=store.memos(), variables=store.variables(), document_sets=store.document_sets()))

    def import_qdpx(self, path: str | Path, coder: str | None = None, *,
                    allow_outside: bool = False) -> RefiImportReport:
        """Import a REFI-QDA project (.qdpx, or a bare .qde with its sources beside it).

        Into an empty project (no document): everything (codebook unless the project has
        one, documents, cases and attributes, coders, codings, memos). Into a project that
        has documents: the codings on the documents it shares with the file (same text; or
        same name, the codings then re-anchored on the project's text), replacing each
        coder's codings there, so that coders who worked in different tools can be
        compared. ``coder`` names the coder of all imported codings (else the file's
        users). All or nothing: a problem anywhere and nothing is written. A path pointing
        outside the file (``relative://``, absolute, a link out of a .qde's folder) refuses
        the import unless ``allow_outside``.
        """
        from qda.coding import check_coder_name
        from qda.refi.plan import plan_project_import

        store = self._store
        with _collector_paused():  # the file's elements, selections and codings hold no cycles
            plan, report = plan_project_import(
                path, documents=store.documents(), codebook=store.codebook(), cases=store.cases(),
                segments=store.segments(), language=self.language, unit=self._unit,
                coder=check_coder_name(coder) if coder is not None else None, progress=self.progress,
                existing=store.codings() if store.documents() else (), allow_outside=allow_outside)
        with self._recorded(f"import qdpx {Path(path).name}"):
            replaced = self.commit(plan)
        return replace(report, imported={**report.imported, "codings_replaced": replaced}) if replaced else report

    # ------------------------------------------------------------------ document sets
    def add_to_set(self, name: str, documents: Sequence[str]) -> DocumentSets:
        """Put documents in the named set (created if new); returns every set."""
        from qda.ingest.sets import plan_document_set

        self.commit(plan_document_set(name, documents, self._store.documents()))
        return self.document_sets()

    def document_sets(self) -> DocumentSets:
        from qda.ingest.sets import DocumentSets

        return DocumentSets(tuple(self._store.document_sets()))

    @contextmanager
    def in_set(self, name: str | None) -> Iterator[Project]:
        """Inside the block, every analysis of this project sees only the documents of the
        set ``name`` (None: every document); a case counts when one of its documents is in
        the set. An unknown set is an error listing the project's sets."""
        if name is None:
            yield self
            return
        from typing import cast

        from qda.ingest.sets import SetScope, find_document_set

        whole = self._store
        chosen = find_document_set(name, whole.document_sets())
        self._store = cast(ProjectStorage, SetScope(whole, chosen.documents))  # read-only: a write raises
        try:
            yield self
        finally:
            self._store = whole

    # ------------------------------------------------------------------ Taguette
    def import_taguette(self, path: str | Path, coder: str) -> TaguetteImport:
        """Import a Taguette highlights export (.csv/.xlsx) as ``coder``'s codings, each highlight
        placed on the text of the project document of the same name (see qda.coding.taguette)."""
        from qda.coding import check_coder_name
        from qda.coding.taguette import plan_taguette

        store = self._store
        plan, result = plan_taguette(path, check_coder_name(coder), documents=store.documents(),
                                     codebook=store.codebook(), segments=store.segments(), language=self.language)
        with self._recorded(f"import taguette {Path(path).name} --coder {coder}"):
            replaced = self.commit(plan)
        return replace(result, replaced=replaced)

    def export_taguette_codebook(self, path: str | Path) -> TaguetteCodebookExport:
        """Write the codebook as a Taguette codebook CSV (tag paths from the code hierarchy)."""
        from qda.coding.taguette import write_taguette_codebook

        codebook = self.codebook()
        counts: dict[str, tuple[int, int]] = {}
        documents: dict[str, set[str]] = {}
        for coding in filter(is_counted, self._store.codings()):  # every coder's: none named
            documents.setdefault(coding.code, set()).add(coding.document)
            n, _ = counts.get(coding.code, (0, 0))
            counts[coding.code] = (n + 1, 0)
        counts = {code: (n, len(documents[code])) for code, (n, _) in counts.items()}
        return write_taguette_codebook(path, codebook, counts)

    # ================================================================== safety: backups, undo, checks
    # (one section, kept apart so that it can be re-applied after the facade is restructured;
    # the write methods above wrap their commit in `with self._recorded(...)`)
    @contextmanager
    def _recorded(self, command: str) -> Iterator[None]:
        """A write that replaces, edits or deletes data: its snapshot and its history line are
        taken in the write's own transaction (see :meth:`qda.store.Backups.recorded`)."""
        with self._store.backups.recorded(command):
            yield

    def write_without_snapshots(self) -> None:
        """``qda --no-snapshot``: a project over the snapshot size cap is written anyway, its
        writes in the history but not undoable (otherwise such a write is refused)."""
        self._store.backups.unsnapshotted_ok = True

    def delete_coder(self, coder: str) -> int:
        """Remove a coder and every coding of theirs (a snapshot is taken first: ``undo`` brings them back)."""
        if coder not in self._store.coders():
            known = ", ".join(self._store.coders()) or "none yet"
            raise NotFoundError(f"unknown coder '{coder}' (coders: {known})")
        with self._recorded(f"delete coder {coder}"):
            return self._store.delete_coder(coder)

    def history(self) -> WriteHistory:
        """The writes that replaced, edited or deleted data, oldest first (page edits: one line per session)."""
        return WriteHistory(tuple(self._store.backups.history()))

    def undo_plan(self) -> UndoPlan:
        """What :meth:`undo` would bring back, without changing anything.

        The next write to undo is the latest one not yet undone; when it cannot be undone
        (written without a snapshot, its snapshot deleted or unreadable) this says which
        write it is and why, and never goes further back past it.
        """
        if self._store.readonly:
            raise ProjectError(f"{self._store.path}: the project is read-only (its file or folder cannot be written): "
                               "undo writes the earlier state back, so it cannot run here",
                               [Problem(str(self.folder), "copy the project folder somewhere writable, "
                                        "or ask for write access")])
        entry = self._store.backups.last_undoable()
        if entry is None:
            raise NotFoundError("nothing to undo: no write in the history that is not undone yet "
                                "(see 'qda history' and 'qda backup list')")
        what = f"the next write to undo, '{entry.command}' of {entry.at[:19].replace('T', ' ')} UTC,"
        elsewhere = Problem(str(self.folder / BACKUP_DIR), "'qda backup list' shows the snapshots there",
                            "'qda backup restore NAME' goes back to one of them, with every write after it")
        if not entry.snapshot:
            raise ProjectError(f"{what} cannot be undone: it was written without a snapshot "
                               "('qda --no-snapshot', the project being over the snapshot size cap)", [elsewhere])
        snapshot = self.folder / BACKUP_DIR / entry.snapshot
        if not snapshot.is_file():
            raise ProjectError(f"{what} cannot be undone: its snapshot {entry.snapshot} is no longer in backups/ "
                               "(deleted by the keep policy, 'qda backup config', or by hand)", [elsewhere])
        try:
            resolve_backup(self.folder, entry.snapshot)
            restored = backup_counts(snapshot)
        except ProjectError as exc:
            raise ProjectError(f"{what} cannot be undone: its snapshot is unreadable ({exc.message})",
                               [elsewhere]) from None
        return UndoPlan(entry, restored, self._store.backups.counts(), tuple(self._store.backups.undo_warnings(entry)))

    def undo(self, include_others: bool = False) -> UndoPlan:
        """Restore the state before the last write (itself recorded, so ``backup restore`` can redo it).

        When the snapshot would also take back other writes (another user's page edits, a
        write not in the history), nothing is done unless ``include_others``.
        """
        from qda.coding.codes import FILE_KEY, SHA_KEY, restore_codebook_file

        plan = self.undo_plan()
        if plan.warnings and not include_others:
            raise NeedsConfirmation(f"undoing '{plan.entry.command}' would take back more than that write; "
                                    "nothing changed", "include_others",
                                    [Problem("", warning) for warning in plan.warnings]
                                    + [Problem("", "to take all of it back: qda undo --include-others "
                                               "(or answer yes when qda undo asks)")])
        written = self._store.get_meta(FILE_KEY), self._store.get_meta(SHA_KEY)  # the file as qda last wrote it
        self._store.backups.restore(plan.entry.snapshot, f"undo {plan.entry.command}", undoes=plan.entry.id)
        restored = restore_codebook_file(self.folder, written, self._store.get_meta(FILE_KEY),
                                         sha=self._store.get_meta(SHA_KEY), source=self._store.codebook_source())
        return dataclasses.replace(plan, warnings=(*plan.warnings, restored)) if restored else plan

    def backup_list(self) -> BackupList:
        """The snapshots in backups/, with the write each one preceded."""
        return BackupList.of(self.folder, self._store.backups.history(), self._store.backups.policy())

    def backup_policy_deletes(self, keep: int | None = None, max_mb: int | None = None) -> list[str]:
        """The snapshots :meth:`set_backup_policy` would delete with these limits (changing nothing)."""
        old_keep, old_cap = self._store.backups.policy()
        return [f.name for f in self._store.backups.would_prune(old_keep if keep is None else keep,
                                                                old_cap if max_mb is None else max_mb)]

    def set_backup_policy(self, keep: int | None = None, max_mb: int | None = None,
                          confirmed: bool = False) -> BackupList:
        """How many snapshots to keep and the size cap of backups/ (MB), stored in the project.
        Limits that delete snapshots need ``confirmed`` (else NeedsConfirmation, nothing changed)."""
        policy = self._store.backups.set_policy(keep, max_mb, confirmed)
        return BackupList.of(self.folder, self._store.backups.history(), policy)

    def restore_backup(self, name: str) -> UndoPlan:
        """Bring the project back to snapshot ``name`` (the current state is snapshotted first)."""
        snapshot = resolve_backup(self.folder, name)
        before, restored = self._store.backups.counts(), backup_counts(snapshot)
        entry = self._store.backups.restore(snapshot.name, f"backup restore {snapshot.name}")
        return UndoPlan(entry, restored, before)

    @staticmethod
    def restore_damaged(folder: str | Path | None, name: str) -> UndoPlan:
        """``backup restore`` for a project that cannot be opened: its damaged database is
        set aside (``project.qda.damaged-<time>``, never deleted) and the snapshot put in its place."""
        path = find_project_dir(folder)
        snapshot = resolve_backup(path, name)
        restored = backup_counts(snapshot)
        aside = restore_damaged(path, snapshot.name)
        Project.open(path).close()  # the restored file must open (and migrate) before we say it worked
        entry = HistoryEntry(0, "", f"backup restore {snapshot.name} (damaged file kept as {aside.name})",
                             snapshot.name, {}, {}, False)
        return UndoPlan(entry, restored, {})

    def check(self) -> CheckReport:
        """Full check of the database (``PRAGMA integrity_check`` and foreign keys); damage is an error."""
        problems = self._store.integrity_problems(full=True)
        if problems:
            raise self._store.damaged(problems)
        files = list_backups(self.folder)
        return CheckReport(str(self._store.path), self._store.path.stat().st_size, self._store.readonly,
                           len(files), files[-1].name if files else None)

    # ------------------------------------------------------------------ analyses (qda.analysis)
    def retrieve(self, *, codes: Sequence[str] = (), match: CodeMatch = CodeMatch.ANY, exclude: Sequence[str] = (),
                 coders: Sequence[str] | None = None, cases: Sequence[str] | None = None,
                 documents: Sequence[str] | None = None, where: dict[str, str] | None = None,
                 context: int = 0) -> analysis.Retrieval:
        """Coded passages by code(s) (any/all, minus ``exclude``), coder, case, document, attribute."""
        wanted = [*codes, *exclude] if codes else None  # codings of other codes play no part
        codings = [c for name in (coders or self._store.coders())
                   for c in self.codings(name, wanted, named=bool(coders))]
        # segments' own text is only shown as context; passages are cut from the documents
        return analysis.retrieve(self.codebook(), self._store.cases(), self._store.segments(text=context > 0),
                                 codings=codings,
                                 texts=self._texts(), codes=codes, match=match, exclude=exclude, coders=coders,
                                 case_names=cases, documents=documents, where=where, context=context)

    def quotes(self, by: str, per_code: int = 2, **query: Any) -> analysis.QuoteTable:
        """Illustrative quotes: ``per_code`` passages per code and group (see :meth:`retrieve`)."""
        named = bool(query.get("coders"))
        codings = [c for name in (query.get("coders") or self._store.coders()) for c in self.codings(name, named=named)]
        return self._quotes(self.codebook(), self._store.cases(), codings, by, per_code, **query)

    def _quotes(self, codebook: Codebook, every_case: Sequence[Case], codings: Sequence[Coding], by: str,
                per_code: int, segments: Sequence[Segment] | None = None, **query: Any) -> analysis.QuoteTable:
        """:meth:`quotes` of codings (and ``segments``, without text) already read: the workbook
        and the report read them once for every section."""
        coders = query.pop("coders", None)
        context = query.get("context", 0) > 0

        def of(documents: set[str]) -> Sequence[Segment]:  # those of the chosen quotes only: a few hundred
            return self._store.segments(text=context, documents=documents)

        return analysis.quotes(codebook, every_case, segments if segments is not None and not context else of,
                               codings=codings, texts=self._texts(), by=by, per_code=per_code,
                               lang=codebook.default_language, coders=coders, case_names=query.pop("cases", None),
                               **query)

    def _report_quotes(self, codebook: Codebook, cases: Sequence[Case], coder: str, by: str, per_code: int,
                       spans: dict[tuple[str, str], int], segments: Sequence[Segment] | None) -> analysis.QuoteTable:
        """:meth:`quotes` of one coder, identical, reading only the codings of the cases a quote
        can come from: quotes are taken round robin over the cases in name order, so for each
        code and group only the first ``per_code`` cases using the code can give one
        (``spans``: :meth:`_tallies`, which also gives the passages there were to choose from)."""
        groups, missing = analysis.case_groups(cases, by), analysis.MISSING
        users: dict[tuple[str, str], list[str]] = {}
        for case, code in sorted(spans):
            users.setdefault((code, groups.get(case, missing)), []).append(case)
        candidates = sorted({case for names in users.values() for case in names[:max(per_code, 1)]})
        codings = [c for c in self._store.codings(coder=coder, cases=candidates) if is_counted(c, coder_named=True)]
        table = self._quotes(codebook, cases, codings, by, per_code, segments, coders=[coder])
        available = {code: {group: sum(spans[(case, code)] for case in users[(code, group)]) for group in cells}
                     for code, cells in table.available.items()}
        return replace(table, available=available)

    def _texts(self) -> dict[str, str]:
        """Every document's text by name."""
        return {d.name: d.text for d in self._store.documents()}

    def cooccurrence(self, coder: str, *, level: CooccurrenceLevel = CooccurrenceLevel.CASE, near: int = 1,
                     by: str | None = None,
                     codes: Sequence[str] | None = None, cluster: bool = False,
                     all_pairs: bool = True) -> analysis.Cooccurrence:
        """Code x code co-occurrence of one coder's codings (see qda.analysis.cooccurrence); its
        frame lists every pair, or with ``all_pairs=False`` only the pairs that occur together."""
        # the case level needs no segment (reading 136,000 of them costs a second at 1,000 interviews)
        result = analysis.cooccurrence(self.codebook(), self._store.cases(),
                                       [] if level == "case" else self._store.segments(), codings=self.codings(coder),
                                       coder=coder, level=level, near=near, by=by, codes=codes, cluster=cluster)
        return replace(result, all_pairs=all_pairs)

    def attribute_tests(self, by: str, coder: str, *, alpha: float = 0.05, resamples: int = 9999,
                        seed: int = 12345) -> analysis.AttributeTests:
        """Each code's presence x case attribute ``by``: exact tests, effect sizes, adjusted p."""
        codebook = self.codebook()
        return analysis.attribute_tests(codebook, self._store.cases(), self.codings(coder), by=by, coder=coder,
                                        alpha=alpha,
                                        resamples=resamples, seed=seed, lang=codebook.default_language)

    def _document_tokens(self) -> list[analysis.DocumentTokens]:
        case_of = dict(self._store.document_cases())
        return [analysis.DocumentTokens(name, case_of[name], language, text, array("i", starts), array("i", ends),
                                        lower, lemma)
                for name, language, text, starts, ends, lower, lemma in self._store.tokens()]

    def words(self, *, by: str = "document", unit: WordUnit = WordUnit.WORD,
              roles: Sequence[str] | None = ("respondent",),
              top: int = 20, prior: float = 0.1, keep_stop_words: bool = False) -> analysis.WordCounts:
        """Word or lemma counts per document, case or group, and distinctive words per unit."""
        return analysis.word_counts(self._document_tokens(), self._store.cases(), self._store.segments(text=False),
                                    by=by,
                                    unit=unit, roles=roles, top=top, prior=prior, keep_stop_words=keep_stop_words)

    def search(self, query: str, *, mode: SearchMode = SearchMode.EXACT, by: str = "case", width: int = 40,
               roles: Sequence[str] | None = None) -> analysis.SearchResult:
        """Exact, lemma or regex search with keyword-in-context lines."""
        docs = self._document_tokens()
        lemmas: dict[str, Sequence[str]] | None = None
        if mode == "lemma" and query.strip():
            from qda.coding.auto import lemmatise_phrase  # as the dictionary's lemma patterns are

            # a word of the transcripts takes the lemma they give it; spaCy is loaded for the others
            lemmas = {language: analysis.stored_lemmas(docs, query, language) or lemmatise_phrase(query, language)
                      for language in sorted({d.language for d in docs})}
        return analysis.search(docs, self._store.cases(), self._store.segments(text=False), query=query, mode=mode,
                               by=by, width=width,
                               roles=roles, lemmas=lemmas)

    def figure(self, kind: FigureKind, path: str | Path, coder: str, *, by: str, code_attr: str | None = None,
               level: CooccurrenceLevel = CooccurrenceLevel.CASE, group: str = "all",
               measure: Similarity = Similarity.JACCARD, size: FigureSize = FigureSize.DOUBLE,
               count: CountMode = CountMode.CASES, labels: bool = False,
               lang: str | None = None) -> Path:
        """Write one figure (meta, split, cooccur, dendrogram, frequency) as SVG, PDF or PNG;
        ``labels``: the codes' labels (in ``lang``) instead of their ids; ``group``: for
        cooccur, ``all`` or one value of ``by`` (an open set: the project's values)."""
        from qda.export import figures

        if kind not in figures.KINDS:
            raise NotFoundError(f"unknown figure '{kind}' (use one of: {', '.join(figures.KINDS)})")
        codebook, cases = self.codebook(), self._store.cases()
        # the matrices need counts only: the store counts them (no coding is read)
        usage = self._tallies(coder)[0] if kind in ("meta", "frequency", "split") else {}
        names = {c.id: c.label(lang or codebook.default_language) for c in codebook.codes} if labels else None
        if kind == "meta":
            fig = figures.meta_heatmap(matrix.meta_matrix(codebook, cases, [], by=by, coder=coder, usage=usage), size,
                                       names)
        elif kind == "frequency":
            fig = figures.frequency_bars(matrix.cross_case(codebook, cases, [], by=by, coder=coder, count=count,
                                                           usage=usage), size, names)
        elif kind == "split":
            attr = code_attr or (codebook.attributes[0].name if codebook.attributes else None)
            if attr is None:
                raise NotFoundError("the codebook has no code attribute to split by")
            fig = figures.split_bars(matrix.split(codebook, cases, [], code_attr=attr, by=by, coder=coder,
                                                  count=count, usage=usage), size)
        else:
            result = (analysis.cooccurrence(codebook, cases, [], codings=[], coder=coder, level=level, by=by,
                                            cluster=kind == "dendrogram", usage=self._tallies(coder)[0])
                      if level == "case"  # counts per case and code are enough, as for the report
                      else self.cooccurrence(coder, level=level, by=by, cluster=kind == "dendrogram"))
            fig = (figures.dendrogram(result.clustering, size, names) if result.clustering
                   else figures.cooccurrence_heatmap(result, group=group, measure=measure, size=size, labels=names))
        return figures.save(fig, path)

    def synthesis_report(self, path: str | Path, coder: str, by: str, *, code_attr: str | None = None,
                         agreement: Sequence[str] | None = None, per_code: int = 2,
                         lang: str | None = None, bootstrap: int = 0) -> Path:
        """The self-contained HTML synthesis report (qda.export.synthesis); ``bootstrap``
        resamples give the reliability table its 95 % intervals (0: none, the fastest)."""
        # The collector paused: its passes over the 1.2 million words counted and the figures'
        # artists took 0.2 s of a 1,000-interview report's 2.2 (the figures' cycles are
        # collected once it runs again).
        with _collector_paused():
            return self._synthesis_report(path, coder, by, code_attr=code_attr, agreement=agreement,
                                          per_code=per_code, lang=lang, bootstrap=bootstrap)

    def _synthesis_report(self, path: str | Path, coder: str, by: str, *, code_attr: str | None,
                          agreement: Sequence[str] | None, per_code: int, lang: str | None, bootstrap: int) -> Path:
        from dataclasses import replace

        from qda.export.synthesis import ReportData, write_synthesis

        codebook, cases = self.codebook(), self._store.cases()
        lang = lang or codebook.default_language
        attr = code_attr or (codebook.attributes[0].name if codebook.attributes else None)
        # Every section but the quotes needs counts per case and code only: the store counts
        # them, and the quotes read the codings of the few cases they can come from.
        usage, spans, coded = self._tallies(coder)
        cooccur = analysis.cooccurrence(codebook, cases, [], codings=[], coder=coder,
                                        level=CooccurrenceLevel.CASE, by=by, usage=usage)
        if sum(1 for n in cooccur.tables[0].frequencies.values() if n) >= 3:  # else nothing to cluster
            cooccur = replace(cooccur, clustering=analysis.cluster_codes(cooccur.tables[0]))
        groups = {c.attributes.get(by) for c in cases}
        tests = (analysis.attribute_tests(codebook, cases, [], by=by, coder=coder, lang=codebook.default_language,
                                          usage=usage)
                 if len(groups) >= 2 else None)  # one group: nothing to compare
        tokens = self._document_tokens()
        sizes = self._store.sizes()
        data = ReportData(
            title=f"Synthesis: {codebook.name}", project=self.folder.resolve().name, codebook=codebook, cases=cases,
            documents=sizes["documents"], segments=sizes["segments"], coder=coder, by=by,
            lang=lang, cross=matrix.cross_case(codebook, cases, [], by=by, coder=coder, count=CountMode.CASES,
                                               lang=lang, usage=usage),
            meta=matrix.meta_matrix(codebook, cases, [], by=by, coder=coder, usage=usage),
            split=matrix.split(codebook, cases, [], code_attr=attr, by=by, coder=coder, usage=usage) if attr else None,
            cooccur=cooccur, tests=tests,
            # no Segment is built: the quotes read the segments of their documents, the words
            # where the respondents talk
            quotes=self._report_quotes(codebook, cases, coder, by, per_code, spans, None),
            words=analysis.word_counts(tokens, cases, [], by=by, unit=WordUnit.LEMMA,
                                       role_spans=self._store.role_spans) if tokens else None,
            reliability=self.agree(agreement, bootstrap=bootstrap) if agreement else None,
            # the coder's documents are known from the tallies; the other coders' are read
            coverage={coder: (len(coded), sizes["documents"]),
                      **self.coverage([c for c in agreement or () if c != coder])},
            # no model, no sentence: qda.suggest (scipy.sparse, 0.1 s) is imported only when there is one
            provenance=(self.suggest_provenance([coder, *(agreement or ())]).sentences()
                        if self._store.suggest_models() else []))
        return write_synthesis(path, data)

    def coded_document(self, name: str, coders: Sequence[str], lang: str | None = None) -> CodedDocument:
        """A document with the codings of ``coders``, for the coded-document exports."""
        from qda.export.document import CodedDocument

        document, segments = self.workspace_document(name)
        if not coders:
            raise NotFoundError("name the coder(s) whose codings to show, e.g. --coder alice")
        known = self._store.coders()
        unknown = [c for c in coders if c not in known]
        if unknown:
            raise NotFoundError(f"unknown coder(s): {', '.join(unknown)} (known: {', '.join(known) or 'none'})")
        codebook = self.codebook()
        coders = list(dict.fromkeys(coders))
        codings = [c for coder in coders for c in self._store.codings(coder=coder, document=name)
                   if is_counted(c, coder_named=True)]
        return CodedDocument(document, segments, codings, codebook, tuple(coders), lang or codebook.default_language)

    def export_document(self, name: str, coders: Sequence[str], path: str | Path, *, lang: str | None = None) -> Path:
        """Write a coded document (.html or .docx: text, highlights, codes in the margin)."""
        from qda.export.document import write_coded_document

        return write_coded_document(path, self.coded_document(name, coders, lang))

    def coded_document_bytes(self, name: str, coders: Sequence[str], fmt: DocumentFormat, *,
                             lang: str | None = None) -> bytes:
        """The coded document as ``html`` or ``docx`` bytes (the workspace's download)."""
        from qda.export.document import render

        return render(self.coded_document(name, coders, lang), fmt)

    def code_search_hits(self, query: str, code: str, coder: str, *, mode: SearchMode = SearchMode.EXACT,
                         by: str = "case",
                         roles: Sequence[str] | None = None) -> analysis.SearchCoding:
        """Code every segment holding a hit of ``query`` with ``code`` for ``coder`` (all or nothing).

        The pattern (``mode: query``) is recorded on each coding, as auto-coding does, and
        hits that are negated mentions ("pas de salon") are left out by the same rule.
        """
        from qda.coding import check_coder_name
        from qda.coding.auto import plan_search_coding

        coder = check_coder_name(coder)
        held = self._store.codings(coder=coder) if coder in self.coders() else []
        plan, result = plan_search_coding(self.codebook(), self.search(query, mode=mode, by=by, width=40, roles=roles),
                                          self._document_tokens(), segments=self._store.segments(), held=held,
                                          code=code, coder=coder)
        self.commit(plan)
        return result

    # ------------------------------------------------------------------ browser workspace (qda serve)
    # Small delegating methods only: checks and planning live in qda.coding.workspace.
    def workspace_document(self, name: str) -> tuple[Document, list[Segment]]:
        """A document and its segments; NotFoundError when there is none of that name."""
        document = self._store.document(name)
        if document is None:
            raise NotFoundError(f"unknown document '{name}'")
        return document, self._store.segments(document=name)

    def coding_by_id(self, coding_id: int) -> Coding | None:
        return self._store.coding(coding_id)

    def workspace_documents(self, coder: str, every_coder: bool) -> DocumentList:
        """The workspace's document list with ``coder``'s coverage; ``every_coder``: count the
        other coders' codings too (blind mode off)."""
        from qda.coding.workspace import document_coverage

        return document_coverage(self._store.documents(), self._store.cases(), self._store.segment_spans(),
                                 codings=self._store.codings(coder=None if every_coder else coder), coder=coder)

    def workspace_view(self, name: str, coders: Sequence[str], *, memo_author: str | None) -> WorkspaceDocument:
        """One document as the workspace shows it: text, turns, its case's attributes, the
        codings of ``coders`` (the first is the one who edits) and the memos about it
        (``memo_author``'s only, when given). Who may see whom is the caller's decision
        (:func:`qda.coding.workspace.visible_coders`, :func:`~qda.coding.workspace.memo_author_filter`)."""
        from qda.coding.workspace import WorkspaceDocument, turn_groups

        document, segments = self.workspace_document(name)
        return WorkspaceDocument(document, self.case_attributes(document.case), tuple(turn_groups(segments)),
                                 tuple(coders), tuple(self.workspace_codings(coders, name)),
                                 tuple(self.memos_about("document", name, memo_author)))

    def workspace_codings(self, coders: Sequence[str], document: str | None = None) -> list[Coding]:
        """The codings the workspace shows of ``coders`` (of one ``document`` when given)."""
        from qda.coding.workspace import shown

        return [c for who in coders for c in self._store.codings(coder=who, document=document) if shown(c)]

    def workspace_codebook(self, coder: str) -> WorkspaceCodebook:
        """The codebook as the workspace's picker reads it, with ``coder``'s count of codings per code."""
        from qda.coding.workspace import WorkspaceCodebook

        return WorkspaceCodebook(self.codebook(), self.code_counts(coder))

    def code_counts(self, coder: str) -> dict[str, int]:
        """How many shown codings ``coder`` has of each code (the code picker's counts)."""
        from qda.coding.workspace import code_counts

        return code_counts(self._store.codings(coder=coder))

    def case_attributes(self, case: str) -> dict[str, str]:
        """The attributes of one case (empty when it has none)."""
        return next((dict(c.attributes) for c in self._store.cases() if c.name == case), {})

    def add_coding(self, coder: str, document: Any, code: Any, *, start: Any, end: Any, memo: Any = None,
                   snap: str = "none", across_turns: bool = False) -> Coding:
        """Store one manual coding of ``coder`` (checked first: see qda.coding.workspace). A span
        covering a speaker label is refused with NeedsConfirmation unless ``across_turns``."""
        from qda.coding.workspace import check_not_twice, check_turns, label_window, plan_coding

        with self._store.backups.page_edit(coder, "added", +1):
            doc = self._store.document(document) if isinstance(document, str) else None
            # only the segments the span touches matter (snapping, the segment it equals)
            # an offset past the text (10**30) is refused by plan_coding; SQLite could not even bind it
            spans = doc is not None and all(type(v) is int and 0 <= v <= len(doc.text) for v in (start, end))
            planned = plan_coding(self.codebook(), doc,
                                  self._store.segment_bounds(document, start, end) if doc and spans else [],
                                  coder=coder, code=code, start=start, end=end, memo=memo, snap=snap)
            check_not_twice(planned, self._store.codings(coder=planned.coder, document=planned.document,
                                                        start=planned.start, end=planned.end))
            assert doc is not None  # plan_coding refused an unknown document
            check_turns(doc.text, self._store.segment_bounds(doc.name, *label_window(doc.text, planned.start,
                                                                                    planned.end)),
                        planned, confirmed=across_turns)
            return self._store.insert_codings([planned])[0]

    def change_coding(self, coder: str, coding_id: int, changes: dict[str, Any], *, snap: str = "none",
                      across_turns: bool = False) -> Coding:
        """Change the code, span or memo of one of ``coder``'s codings (a new span covering a
        speaker label needs ``across_turns``, as in :meth:`add_coding`)."""
        from qda.coding.workspace import check_not_twice, check_owner, check_turns, plan_change

        with self._store.backups.page_edit(coder, "edited"):
            coding = check_owner(self._store.coding(coding_id), coder)
            document = self._store.document(coding.document)
            assert document is not None  # a coding's document exists (foreign key)
            segments = self._store.segment_bounds(coding.document)
            changed = plan_change(self.codebook(), document, segments, coding=coding, changes=changes, snap=snap)
            check_not_twice(changed, self._store.codings(coder=coding.coder, document=coding.document,
                                                        start=changed.start, end=changed.end))
            if (changed.start, changed.end) != (coding.start, coding.end):
                check_turns(document.text, segments, changed, confirmed=across_turns)
            return self._store.update_coding(changed)

    def code_hits(self, coder: str, code: Any, hits: Any, *, snap: str = "none",
                  across_turns: bool = False) -> CodedHits:
        """Code the search hits ``hits`` (``[{document, start, end}]``) with ``code`` for
        ``coder`` in one write, all or nothing (see :func:`qda.coding.workspace.plan_hit_codings`):
        one commit, one page edit in the history; hits already coded with ``code`` are left."""
        from qda.coding.workspace import CodedHits, plan_hit_codings

        names = ({h["document"] for h in hits if isinstance(h, dict) and isinstance(h.get("document"), str)}
                 if isinstance(hits, list) else set())
        with self._store.transaction():  # planned under the write lock: no other write can slip in between
            documents = {d.name: d for d in (self._store.document(name) for name in sorted(names)) if d is not None}
            segments = {name: self._store.segment_bounds(name) for name in documents}
            held = [c for name in documents for c in self._store.codings(coder=coder, document=name)]
            planned, already = plan_hit_codings(self.codebook(), documents, segments, held=held, coder=coder,
                                                code=code, hits=hits, snap=snap,
                                                across_turns=across_turns)
            stored: list[Coding] = []
            if planned:
                with self._store.backups.page_edit(coder, "added", len(planned), times=len(planned)):
                    self.commit(WritePlan(coders=(coder,), codings=tuple(planned)))
                    for c in planned:
                        stored.append(max(self._store.codings(coder=c.coder, document=c.document, start=c.start,
                                                             end=c.end, codes=[c.code]), key=lambda s: s.id or 0))
        return CodedHits(coder, str(code), tuple(stored), tuple(already))

    def remove_codings(self, coder: str, coding_ids: Sequence[int]) -> list[Coding]:
        """Delete several of ``coder``'s codings in one write, all or nothing (the page's undo
        of coded search hits); returns them as they were."""
        from qda.coding.workspace import check_owner

        numbers = list(dict.fromkeys(coding_ids))
        with self._store.backups.page_edit(coder, "deleted", -len(numbers), times=len(numbers)):
            codings = [check_owner(self._store.coding(number), coder) for number in numbers]  # all checked first
            for number in numbers:
                self._store.delete_coding(number)
        return codings

    def remove_coding(self, coder: str, coding_id: int) -> Coding:
        """Delete one of ``coder``'s codings; returns it as it was (for the page's own undo).
        Page edits are in the history, one line per user's session (see Backups.page_edit)."""
        from qda.coding.workspace import check_owner

        with self._store.backups.page_edit(coder, "deleted", -1):
            coding = check_owner(self._store.coding(coding_id), coder)
            self._store.delete_coding(coding_id)
            return coding

    # ------------------------------------------------------------------ workspace accounts
    def add_user(self, name: str, password: str, role: str | None = None) -> Account:
        """Create a workspace account (role ``coder`` unless given), or reset the password
        of an existing one: only a scrypt hash is kept, and a reset ends the account's
        sessions and lockout."""
        from qda.coding.accounts import check_account_name, check_role, hash_password

        name = check_account_name(name)
        chosen = check_role(role) if role is not None else None
        hashed = hash_password(password)
        with self._store.transaction(marks_state=False):  # an account is not project data: undo leaves it
            self._store.set_user(name, hashed, chosen)
            self._store.delete_sessions(user=name)
            return self._store.accounts(name)[0]

    def account(self, name: str) -> Account:
        """One account (NotFoundError naming ``qda users list`` when there is none)."""
        from qda.coding.accounts import known

        return known(next(iter(self._store.accounts(name)), None), name)

    def _change_account(self, name: str, **changes: Any) -> Account:
        """Apply ``changes`` to an account and end its sessions (a role change takes effect at once)."""
        from qda.coding.accounts import known

        with self._store.transaction(marks_state=False):
            account = dataclasses.replace(known(next(iter(self._store.accounts(name)), None), name), **changes)
            self._store.update_account(account)
            self._store.delete_sessions(user=name)
            return account

    def set_user_role(self, name: str, role: str) -> Account:
        """Give an account the role lead, coder or viewer."""
        from qda.coding.accounts import check_role

        return self._change_account(name, role=check_role(role))

    def disable_user(self, name: str, disabled: bool = True) -> Account:
        """Stop (or allow again) an account's logins; its sessions end at once."""
        return self._change_account(name, disabled=disabled)

    def unlock_user(self, name: str) -> Account:
        """Lift the lockout after failed logins."""
        return self._change_account(name, failures=0, locked_until="")

    def remove_user(self, name: str) -> Account:
        """Delete an account and end its sessions; the coder's codings stay."""
        from qda.coding.accounts import known

        with self._store.transaction(marks_state=False):
            account = known(next(iter(self._store.accounts(name)), None), name)
            self._store.delete_user(name)
            return account

    def user_list(self) -> AccountList:
        """The accounts with their role and state (never their hashes)."""
        from qda.coding.accounts import AccountList

        return AccountList.of(self._store.accounts())

    def check_user(self, name: str, password: str, at: datetime | None = None) -> Account:
        """The account when the password is right; AuthError otherwise (ThrottledError while
        the account must wait after failed logins). A hash made with weaker parameters than
        today's is replaced by a new one."""
        from qda.coding.accounts import (
            after_failure,
            hash_password,
            needs_rehash,
            refuse_while_locked,
            utc,
            verify_password,
        )
        from qda.errors import AuthError

        now = utc(at)
        account = next(iter(self._store.accounts(name)), None) if name else None
        if account is not None:
            refuse_while_locked(account, now)
        # the hash is checked for unknown and disabled accounts too: the time taken tells nothing
        right = verify_password(account.password_hash if account else None, password)
        if account is None or account.disabled or not right:
            if account is not None:
                with self._store.transaction(marks_state=False):
                    self._store.update_account(after_failure(account, now))
            raise AuthError("unknown user or wrong password")
        fresh = dataclasses.replace(account, failures=0, locked_until="")
        if needs_rehash(account.password_hash):
            fresh = dataclasses.replace(fresh, password_hash=hash_password(password))
        if fresh != account:
            with self._store.transaction(marks_state=False):
                self._store.update_account(fresh)
        return fresh

    def start_session(self, name: str, at: datetime | None = None) -> str:
        """A new server-side session for ``name``: the id to put in the cookie."""
        from qda.coding.accounts import SESSION_HOURS, new_session, utc

        now = utc(at)
        token, digest = new_session()
        with self._store.transaction(marks_state=False):
            self._store.delete_sessions(before=(now - timedelta(hours=SESSION_HOURS)).isoformat())
            self._store.add_session(digest, name, now.isoformat())
        return token

    def session_account(self, token: str, at: datetime | None = None) -> Account | None:
        """The account of a live session id: None when logged out, expired, revoked or disabled."""
        from qda.coding.accounts import session_digest, session_expired, utc

        if not token:
            return None
        found = self._store.session(session_digest(token))
        if found is None or session_expired(found[1], utc(at)):
            return None
        account = next(iter(self._store.accounts(found[0])), None)
        return None if account is None or account.disabled else account

    def end_session(self, token: str) -> None:
        """Log a session out: its id is refused from now on, wherever the cookie was copied."""
        from qda.coding.accounts import session_digest

        with self._store.transaction(marks_state=False):
            self._store.delete_sessions(digest=session_digest(token))

    def users(self) -> list[str]:
        return self._store.users()

    def blind_mode(self) -> BlindMode:
        """Whether the workspace is blind (each coder sees only their own codings): the
        project's setting (``qda blind on|off``), on by default; never inferred from who coded."""
        from qda.coding.accounts import BlindMode

        value = self._store.get_meta("blind")
        return BlindMode(value != "off", "default" if value is None else "setting")

    def set_blind(self, on: bool) -> BlindMode:
        """Turn blind mode on or off for the project (the lead's decision)."""
        with self._store.transaction(marks_state=False):  # a setting undo leaves alone, like accounts
            self._store.set_meta("blind", "on" if on else "off")
        return self.blind_mode()

    def compare_regions(self, document: str | None, coder_a: str, coder_b: str) -> Comparison:
        """Where two coders' codings differ, as regions of text, and what they agree on
        (one document, or all with None): see :mod:`qda.coding.regions`."""
        from qda.coding import compare_in_store

        if document is not None and self._store.document(document) is None:
            raise NotFoundError(f"unknown document '{document}'")
        return compare_in_store(self._store, coder_a, coder_b, document=document)

    def compare_view(self, coder_a: str, coder_b: str, document: str | None = None) -> ComparisonView:
        """:meth:`compare_regions` with each region's text and the sentences around it (the page's view)."""
        from qda.coding.regions import regions_in_context
        from qda.coding.workspace import ComparisonView

        comparison = self.compare_regions(document, coder_a, coder_b)
        names = {r.document for r in comparison.regions}
        texts = {d.name: d.text for d in self._store.documents() if d.name in names}
        bounds = {name: [(s.start, s.end) for s in self._store.segment_bounds(name)] for name in names}
        shown = regions_in_context(comparison, texts, bounds)
        return ComparisonView(coder_a, coder_b, len(comparison.agreed), tuple(shown["regions"]),
                              tuple(self._store.coders()))

    def adjudicate_decisions(self, coder_a: str, coder_b: str, decisions: Sequence[Any], *, as_coder: str,
                             replace: bool = False) -> AdjudicationResult:
        """Record decisions made in the browser exactly as the adjudication sheet route would
        (same regions, same consensus; the same refusal to replace a coder without ``replace``)."""
        from qda.coding import plan_decisions

        plan, result = plan_decisions(self._store, coder_a, coder_b, decisions=decisions, as_coder=as_coder,
                                      origin="decisions")
        return self._record_adjudication(plan, result, replace,
                                         f"adjudicate in the browser {coder_a} {coder_b} --coder {as_coder}",
                                         "confirm to replace them, or choose another name")

    def workspace_retrieve(self, coders: Sequence[str], codes: Sequence[str], *, mode: CodeMatch = CodeMatch.ANY,
                           exclude: Sequence[str] = (), where: dict[str, str] | None = None) -> WorkspaceRetrieval:
        """The passages :meth:`retrieve` gives (the same ``Retrieval``), with the rows of the
        workspace (a row per passage, with characters around it and the overlapping codes)."""
        from qda.coding.workspace import WorkspaceRetrieval, check_code, passage_rows

        codebook = self.codebook()
        for code in [*codes, *exclude]:
            check_code(codebook, code)  # a typo in the page is a 422 with the known codes, not a 404
        known = set(self._store.coders())
        coders = [name for name in coders if name in known]
        codings = [c for name in coders for c in self.codings(name)]
        texts = {d.name: d.text for d in self._store.documents()}
        mode = CodeMatch.ANY if len(codes) < 2 else mode  # "all" of one code is that code (the page does not refuse it)
        found = analysis.retrieve(codebook, self._store.cases(), self._store.segments(), codings=codings, texts=texts,
                                  codes=codes,
                                  match=mode, exclude=exclude, coders=coders, where=where)
        return WorkspaceRetrieval(found, tuple(passage_rows(found, codings, texts)))

    def workspace_search(self, query: str, regex: bool = False) -> SearchHits:
        """Keyword in context across every document."""
        from qda.coding.workspace import search_text

        return search_text(self._store.documents(), query, regex=regex)

    def memos_about(self, kind: str, target: str, author: str | None = None) -> list[Any]:
        return [m for m in self._store.memos(target_kind=kind, target=target) if author is None or m.author == author]

    def memo_overview(self, author: str | None = None, kind: str | None = None,
                      document: str | None = None) -> list[dict[str, Any]]:
        """Every memo (project, document, code, case) and every coding memo, newest first, each
        with the place it is about: ``document`` (and ``start``/``end`` for a coding memo) when
        it has one. ``author`` keeps one author's (a coding memo's author is its coder);
        ``document`` keeps the memos on that document, its case and its codings."""
        docs = self._store.documents()
        first_of_case: dict[str, str] = {}
        case_of: dict[str, str] = {}
        for d in docs:
            first_of_case.setdefault(d.case, d.name)
            case_of[d.name] = d.case
        rows: list[dict[str, Any]] = []
        for m in self._store.memos():
            place = (m.target if m.target_kind == "document" else
                     first_of_case.get(m.target) if m.target_kind == "case" else None)
            rows.append({"kind": m.target_kind, "id": m.id, "target": m.target, "text": m.text, "author": m.author,
                         "created_at": m.created_at, "modified_by": m.modified_by, "modified_at": m.modified_at,
                         "name": None, "document": place,
                         "case": m.target if m.target_kind == "case" else case_of.get(place or ""),
                         "start": None, "end": None, "code": m.target if m.target_kind == "code" else None})
        for c in self._store.codings(coder=author):
            if c.note.strip():
                rows.append({"kind": "coding", "id": c.id, "target": f"{c.code} in {c.document} {c.start}-{c.end}",
                             "text": c.note, "author": c.coder, "created_at": c.created_at,
                             "modified_by": c.modified_by, "modified_at": c.modified_at, "name": c.name,
                             "document": c.document,
                             "case": c.case, "start": c.start, "end": c.end, "code": c.code, "quote": c.text})
        keep = [r for r in rows if (author is None or r["author"] == author) and (not kind or r["kind"] == kind)
                and (not document or r["document"] == document
                     or (r["kind"] == "case" and r["case"] == case_of.get(document)))]
        return sorted(keep, key=lambda r: str(r["created_at"] or ""), reverse=True)

    def add_memo(self, author: str, kind: Any, target: Any, *, text: Any) -> Any:
        """A memo on a document, code or case, written by ``author``."""
        from qda.coding.workspace import plan_memo

        known = {"document": lambda: {d.name for d in self._store.documents()},
                 "code": lambda: set(self.codebook().code_ids()),
                 "case": lambda: {c.name for c in self._store.cases()}}.get(kind, lambda: set())()
        with self._store.backups.page_edit(author, "memo added"):
            return self._store.insert_memo(plan_memo(kind, target, text, author=author, known=known))

    def change_memo(self, author: str, memo_id: int, text: Any) -> Any:
        from qda.coding.workspace import check_memo_author, edited_memo, plan_memo

        with self._store.backups.page_edit(author, "memo edited"):
            memo = check_memo_author(next(iter(self._store.memos(ids=[memo_id])), None), author)
            checked = plan_memo(memo.target_kind, memo.target, text, author=author, known={memo.target})
            return self._store.update_memo(edited_memo(memo, checked.text, author))

    def remove_memo(self, author: str, memo_id: int) -> Any:
        from qda.coding.workspace import check_memo_author

        with self._store.backups.page_edit(author, "memo deleted"):
            memo = check_memo_author(next(iter(self._store.memos(ids=[memo_id])), None), author)
            self._store.delete_memo(memo_id)
            return memo

    # ================================================================== code suggestions (qda suggest)
    # (one section: qda/suggest plans, these methods store; see docs/suggest.md)
    def suggest_train(self, from_coder: str, *, codes: Sequence[str] | None = None, seed: int = 1,
                      params: dict[str, Any] | None = None, evaluate: bool = True,
                      bootstrap: int = 1000) -> suggest.TrainReport:
        """Train one classifier per code on ``from_coder``'s codings, evaluate it by
        document-grouped cross-validation and store the model (same training, same id)."""
        import json

        with _collector_paused():
            training = suggest.train(self._store, self.codebook(), from_coder, codes=codes, seed=seed, params=params,
                                     evaluate=evaluate,
                                     bootstrap=bootstrap, progress=self.progress)
        existed = any(m[0] == training.model.id for m in self._store.suggest_models())
        with self._store.transaction():
            self._store.save_suggest_model(training.model.id, from_coder, json.dumps(training.info),
                                          training.model.to_bytes())
        if training.scores:  # a cache, not project data (as suggest_run keeps it)
            with self._store.transaction(marks_state=False):
                self._store.save_suggest_scores(training.model.id, training.segments, training.scores)
        return replace(training.report, created=not existed)

    def suggest_curve(self, from_coder: str, *, codes: Sequence[str] | None = None, seed: int = 1,
                      sizes: Sequence[int] = (25, 50, 100, 200), bootstrap: int = 1000,
                      params: dict[str, Any] | None = None) -> suggest.LearningCurve:
        """Cross-validated kappa per code at 25/50/100/200 positives (how many more codings each code
        needs); ``params``: the training settings, as for :meth:`suggest_train`."""
        with _collector_paused():
            return suggest.curve(self._store, self.codebook(), from_coder, codes=codes, seed=seed, sizes=sizes,
                                 params=params, bootstrap=bootstrap,
                                 progress=self.progress)

    def suggest_run(self, *, model: str | None = None, codes: Sequence[str] | None = None,
                    documents: Sequence[str] | None = None, uncoded: bool = False) -> suggest.RunReport:
        """Store a model's suggestions as codings of its machine coder (status suggested); only
        that coder's earlier suggestions on the same segments are replaced."""
        from qda.suggest.hits import PlannedRun, plan_cached_run

        with _collector_paused(), self._store.holding_segments():
            # from the score cache when it holds every code (no scipy, no model, no features), else scored
            run: PlannedRun | None = plan_cached_run(self._store, model, codes=codes, documents=documents,
                                                     uncoded=uncoded)
            if run is None:
                found, _info = suggest.load_model(self._store, model)
                run = suggest.plan_run(self._store, found, codes=codes, documents=documents, uncoded=uncoded)
            if run.fresh and not self._store.readonly:  # a cache, not project data: kept even if the write fails
                with self._store.transaction(marks_state=False):
                    self._store.save_suggest_scores(run.report.model, run.segments, run.fresh)
            if not self._store.readonly and self._store.same_suggestions(run.coder, run.documents, run.segment_ids()):
                return run.report  # what is stored already: no write, so no snapshot to copy
            with self._recorded(f"suggest run --model {run.coder}"):
                replaced = self._store.replace_suggestions(run.coder, run.origin, run.documents, run.rows())
            return replace(run.report, replaced=replaced)

    def suggest_explain(self, coding_id: int) -> suggest.Explanation:
        """Why a suggestion was made: its weightiest terms and the 3 closest passages a human coded with its code."""
        coding = self._store.coding(coding_id)
        if coding is None:
            raise NotFoundError(f"no coding with id {coding_id}")
        return suggest.explain(self._store, coding)

    def suggest_sample(self, size: int, coder: str, *, model: str | None = None, seed: int = 1,
                       codes: Sequence[str] | None = None, sheet: str | Path | None = None) -> suggest.SampleReport:
        """Draw ``size`` segments the model never trained on, stratified by score, for ``coder``
        to code blind; ``sheet`` also writes them as a coding sheet without the model's codes."""
        import json

        import numpy as np

        from qda.coding import check_coder_name, write_sheet
        from qda.suggest.gate import draw_sample, planning_note
        from qda.suggest.suggester import corpus_of

        coder = check_coder_name(coder)
        found, info = suggest.load_model(self._store, model)
        with _collector_paused():
            corpus = corpus_of(self._store, english_terms=found.english_terms)
            trained_on = [corpus.documents.index(d) for d in info.get("training_documents", ())
                          if d in corpus.documents]
            candidates = np.flatnonzero(~np.isin(corpus.document, trained_on))
            drawn = draw_sample(corpus, found, candidates, size=size, seed=seed, codes=codes)
        items = [{"ref": corpus.refs[i], "stratum": stratum} for i, stratum in drawn]
        with self._store.transaction():
            ident = self._store.save_suggest_sample(found.id, coder, json.dumps(items))
        written = None
        if sheet is not None:
            wanted = {item["ref"] for item in items}
            segments = [s for s in self._store.segments() if s.ref in wanted]
            codebook = self.codebook()
            write_sheet(Path(sheet), segments, codebook, coder=coder, existing=(), lang=codebook.default_language)
            written = str(sheet)
        strata: dict[str, int] = {}
        for item in items:
            strata[item["stratum"]] = strata.get(item["stratum"], 0) + 1
        return suggest.SampleReport(ident, found.id, coder, tuple(item["ref"] for item in items), strata, written,
                                    planning_note(len(items), len(codes or found.codes)))

    def suggest_validate(self, *, model: str | None = None, sample: int | None = None, coder: str | None = None,
                         min_kappa: float = 0.6, bootstrap: int = 1000, seed: int = 12345) -> suggest.ValidationReport:
        """Per code, the model against a human's blind coding of a sample: kappa with its interval, and the gate."""
        from qda.suggest.gate import validate

        found, _info = suggest.load_model(self._store, model)
        with _collector_paused():
            return validate(self._store, found, sample=sample, coder=coder, min_kappa=min_kappa, bootstrap=bootstrap,
                            seed=seed)[0]

    def suggest_accept(self, code: str, *, model: str | None = None, reviewer: str | None = None,
                       above: float | None = None, min_kappa: float = 0.6, sample: int | None = None,
                       bootstrap: int = 1000, seed: int = 12345) -> suggest.AcceptReport:
        """Accept a code's suggestions in bulk as ``reviewer``'s codings (origin: the model id),
        only if the code passed the gate on the validation sample; ``qda undo`` takes them back."""
        from qda.coding import check_coder_name
        from qda.suggest.gate import plan_accept, validate

        found, _info = suggest.load_model(self._store, model)
        with _collector_paused():
            validation, _data = validate(self._store, found, sample=sample, coder=None, min_kappa=min_kappa,
                                         bootstrap=bootstrap, seed=seed)
            who = check_coder_name(reviewer or validation.coder)
            plan, report = plan_accept(self._store, found, code, reviewer=who, validation=validation, above=above)
        with self._recorded(f"suggest accept --code {code} --model {found.machine_coder} --as {who}"):
            self.commit(plan)
        return report

    def suggest_provenance(self, coders: Sequence[str]) -> suggest.Provenance:
        """Per coder and code, the codings machine suggestions made: share, model, training size,
        validated kappa, suggestions accepted (for reports; empty when the project has no model)."""
        from qda.suggest.provenance import Provenance, provenance

        if not self._store.suggest_models():
            return Provenance(tuple(coders), ())
        with _collector_paused():
            return provenance(self._store, list(dict.fromkeys(coders)))

    def suggest_bias(self, by: str, *, model: str | None = None, sample: int | None = None, coder: str | None = None,
                     alpha: float = 0.05) -> Any:
        """Does the model err more often in some cases (by a case attribute)? Fisher exact per code, Holm-corrected."""
        from qda.suggest.gate import bias_check, validate

        found, _info = suggest.load_model(self._store, model)
        with _collector_paused():
            _report, data = validate(self._store, found, sample=sample, coder=coder, bootstrap=0)
            return bias_check(found, data["corpus"], data["positions"], pairs=data["pairs"], cases=self._store.cases(),
                              attribute=by, alpha=alpha)

    # ------------------------------------------------------------------ the review queue (/review, qda/web/review.py)
    # Each decision is one transaction with its snapshot and history line, like the other
    # recorded writes; `_review_recorded` is the one place that says how (to align with the
    # page-edit history at merge).
    @contextmanager
    def _review_recorded(self, command: str) -> Iterator[None]:
        with self._recorded(command):
            yield

    @staticmethod
    def _reviewer(name: str) -> str:
        from qda.coding import check_coder_name
        from qda.suggest.review import check_reviewer

        return check_coder_name(check_reviewer(name))

    def review_models(self) -> list[dict[str, Any]]:
        """The stored suggestion models, oldest first: id, machine coder, date, training coder, trained codes."""
        import json

        return [{"id": ident, "machine_coder": suggest.machine_coder(ident), "created_at": created, "from": coder,
                 "codes": [c for c, v in json.loads(info).get("codes", {}).items() if v.get("trained")]}
                for ident, created, coder, info in self._store.suggest_models()]

    def review_model(self, model: str | None = None) -> tuple[str, str]:
        """(id, training coder) of the model ``model`` names (the latest when None)."""
        ident, _created, coder, _info = suggest.model_info(self._store, model)
        return ident, coder

    def review_queue(self, reviewer: str, *, code: str | None = None, model: str | None = None,
                     order: ReviewOrder = ReviewOrder.UNCERTAINTY, limit: int | None = None) -> ReviewQueue:
        """``reviewer``'s undecided suggestions of ``model`` (the latest when None), most
        uncertain first (``order="uncertainty"``: |score - threshold| smallest) or by score."""
        from qda.suggest.review import build_queue

        found, _info = suggest.load_model(self._store, model)
        return build_queue(self._store, self.codebook(), found, reviewer=self._reviewer(reviewer), code=code,
                           order=order, limit=limit)

    def review_suggestion(self, reviewer: str, suggestion_id: int, action: ReviewAction,
                          *, code: str | None = None) -> ReviewDecision:
        """Decide on one suggestion: ``accept`` (the reviewer's coding, origin: the model id),
        ``reject`` (a negative for the next training) or ``recode`` (as ``code``)."""
        from qda.suggest.review import ReviewDecision, decision_message, plan_decision

        who = self._reviewer(reviewer)
        made, review = plan_decision(self._store, self.codebook(), self._store.coding(suggestion_id), reviewer=who,
                                     action=action, recode_to=code)
        with self._review_recorded(f"review {review.action} {review.code} {review.segment} --as {who}"):
            self._store.ensure_coder(who)
            stored = self._store.insert_codings([made])[0] if made is not None else None
            review = self._store.insert_suggest_review(replace(review, coding=stored.id if stored else None))
        assert review.id is not None
        return ReviewDecision(review.id, review.action, who, review.model, review.code, review.segment, review.coded,
                              review.coding, message=decision_message(review))

    def review_undo(self, reviewer: str, review_id: int | None = None) -> ReviewDecision:
        """Take back the reviewer's last decision (or ``review_id``): the coding it made is removed
        and the suggestion is back in the queue; a bulk accept is taken back whole."""
        from qda.suggest.review import BULK, ReviewDecision, decision_message

        who = self._reviewer(reviewer)
        reviews = self._store.suggest_reviews(reviewer=who)
        target = next((r for r in reversed(reviews) if review_id is None or r.id == review_id), None)
        if target is None:
            raise NotFoundError("nothing to undo: no review decision of yours" if review_id is None
                                else f"no review decision {review_id} of yours to undo")
        batch = [r for r in reviews if r.action == BULK and r.at == target.at] if target.action == BULK else [target]
        removed = 0
        with self._review_recorded(f"review undo {target.action} {target.code} {target.segment} --as {who}"):
            for r in batch:
                mine = self._store.coding(r.coding) if r.coding is not None else None
                if mine is not None and mine.coder == who and mine.origin == r.model:
                    removed += int(self._store.delete_coding(mine.id or 0))
                assert r.id is not None
                self._store.mark_suggest_review_undone(r.id)
        assert target.id is not None
        message = (f"Undone: bulk accept of {removed} '{target.code}' codings" if target.action == BULK
                   else decision_message(target, undone=True))
        return ReviewDecision(target.id, target.action, who, target.model, target.code, target.segment, target.coded,
                              target.coding, undone=True, codings=removed, message=message)

    def review_bulk_accept(self, reviewer: str, code: str, *, above: float | None = None, model: str | None = None,
                           min_kappa: float = 0.6) -> ReviewDecision:
        """Accept ``code``'s suggestions with a score of at least ``above`` as the reviewer's codings,
        only when the code passed the gate (the same check as ``qda suggest accept``); one snapshot,
        and the page's undo takes the whole batch back."""
        from qda.store import now
        from qda.suggest.gate import plan_accept, validate
        from qda.suggest.review import BULK, ReviewDecision, bulk_reviews

        who = self._reviewer(reviewer)
        found, _info = suggest.load_model(self._store, model)
        with _collector_paused():
            validation, _data = validate(self._store, found, sample=None, coder=None, min_kappa=min_kappa)
            plan, _report = plan_accept(self._store, found, code, reviewer=who, validation=validation, above=above)
        at = now()
        with self._review_recorded(f"review bulk accept --code {code} --above {above} --as {who}"):
            self._store.ensure_coder(who)
            stored = self._store.insert_codings(list(plan.codings)) if plan.codings else []
            rows = [self._store.insert_suggest_review(r) for r in bulk_reviews(stored, found, who, at=at)]
        return ReviewDecision(rows[-1].id or 0 if rows else 0, BULK, who, found.id, code, "", code, None,
                              codings=len(stored), message=f"accepted {len(stored)} suggestions of '{code}' "
                              f"(score ≥ {above if above is not None else 'threshold'}) as {who}'s codings")

    def review_retrain(self, model: str | None = None, bootstrap: int = 1000) -> Retrained:
        """Retrain after reviews: ``suggest_train`` from the same coder, codes, seed and parameters
        (rejections now count as negatives, accepted codings as positives), then ``suggest_run``."""
        from qda.suggest.review import Retrained

        ident, _created, coder, info = suggest.model_info(self._store, model)
        trained = self.suggest_train(coder, codes=list(info.get("codes") or []) or None, seed=int(info.get("seed", 1)),
                                     params=info.get("params"), bootstrap=bootstrap)
        ran = self.suggest_run(model=trained.model)
        return Retrained(ident, trained.model, trained.machine_coder, trained.created, coder, dict(ran.counts), trained)

    def review_provenance(self, model: str | None = None) -> ReviewTally:
        """Per code: share of the human codings that came from suggestions, and how many a human reviewed."""
        from qda.suggest.review import provenance

        ident = suggest.model_info(self._store, model)[0] if model is not None else None
        return provenance(self._store, ident)


@dataclass(frozen=True)
class WriteHistory:
    """``qda history``: the writes that replaced, edited or deleted data."""

    entries: tuple[HistoryEntry, ...]

    @staticmethod
    def _change(before: dict[str, int], after: dict[str, int]) -> str:
        parts = [f"{coder} {before.get(coder, 0)}→{after.get(coder, 0)}"
                 for coder in sorted(set(before) | set(after)) if before.get(coder, 0) != after.get(coder, 0)]
        return ", ".join(parts) or "no change in coding counts"

    def to_dict(self) -> dict[str, Any]:
        return {"writes": [{"id": e.id, "at": e.at, "command": e.command, "snapshot": e.snapshot,
                            "codings_before": e.before, "codings_after": e.after, "undone": e.undone,
                            "began": e.began, "page_edits_by": e.session or None, "page_edits": e.tally}
                           for e in self.entries]}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([{"id": e.id, "at": e.at[:19].replace("T", " "), "command": e.command,
                              "codings": self._change(e.before, e.after),
                              "undone": "yes" if e.undone else "", "snapshot": e.snapshot}
                             for e in self.entries], columns=["id", "at", "command", "codings", "undone", "snapshot"])

    def to_table(self) -> TableView:
        view = frame_view(self.to_frame().drop(columns=["snapshot"]), "Writes that replaced, edited or deleted data")
        if not self.entries:
            return TableView(lead=(Note("no write has replaced, edited or deleted data yet"),))
        return view


@dataclass(frozen=True)
class UndoPlan:
    """What an undo or a restore brings back: codings per coder in the snapshot and now."""

    entry: HistoryEntry
    restored: dict[str, int]  # codings per coder in the snapshot
    current: dict[str, int]  # ... and in the project before the restore
    warnings: tuple[str, ...] = ()  # when the snapshot may take back more than the write

    def changes(self) -> list[str]:
        """One line per coder whose codings differ, e.g. ``bob: 37 codings back (now 0)``."""
        lines = []
        for coder in sorted(set(self.restored) | set(self.current)):
            then, now_ = self.restored.get(coder, 0), self.current.get(coder, 0)
            if then != now_:
                lines.append(f"{coder}: {then} coding(s) in the snapshot (now {now_})")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"write": {"id": self.entry.id, "at": self.entry.at, "command": self.entry.command,
                          "snapshot": self.entry.snapshot},
                "codings_in_snapshot": self.restored, "codings_now": self.current, "changes": self.changes(),
                "warnings": list(self.warnings)}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        coders = sorted(set(self.restored) | set(self.current))
        return pd.DataFrame([{"coder": c, "in snapshot": self.restored.get(c, 0), "now": self.current.get(c, 0)}
                             for c in coders], columns=["coder", "in snapshot", "now"])

    def to_table(self) -> TableView:
        when = f" of {self.entry.at[:19].replace('T', ' ')} UTC" if self.entry.at else ""
        lines = self.changes() or ["the coding counts are the same; other changes are brought back too"]
        return TableView(lead=(Note(f"'{self.entry.command}'{when}"), *(Note(f"  {line}") for line in lines),
                               *(Note(warning, "warning") for warning in self.warnings)))


@dataclass(frozen=True)
class BackupList:
    """``qda backup list``: snapshot files, the write each preceded, and the policy."""

    folder: str
    rows: tuple[tuple[str, int, str, str], ...]  # name, bytes, modified, command
    keep: int
    max_mb: int

    @classmethod
    def of(cls, folder: Path, history: Sequence[HistoryEntry], policy: tuple[int, int]) -> BackupList:
        before = {e.snapshot: e.command for e in history if e.snapshot}
        return cls(str(folder / BACKUP_DIR),
                   tuple((f.name, f.size, f.modified, before.get(f.name, "")) for f in list_backups(folder)),
                   *policy)

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "keep": self.keep, "max_mb": self.max_mb,
                "snapshots": [{"name": n, "bytes": b, "modified": m, "before": c} for n, b, m, c in self.rows]}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([{"name": n, "bytes": b, "modified": m, "taken before": c} for n, b, m, c in self.rows],
                            columns=["name", "bytes", "modified", "taken before"])

    def to_table(self) -> TableView:
        view = frame_view(self.to_frame(), f"Snapshots in {self.folder}")
        policy = Note(f"keep {self.keep} snapshot(s), at most {self.max_mb} MB (qda backup config)")
        return TableView(view.title, view.columns, view.rows, lead=(policy,)) if self.rows else TableView(
            lead=(Note(f"no snapshot in {self.folder}"), policy))


@dataclass(frozen=True)
class CheckReport:
    """``qda check``: the database passed its full integrity check."""

    database: str
    bytes: int
    readonly: bool
    snapshots: int
    latest_snapshot: str | None

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"status": "ok", **self.__dict__})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([self.to_dict()])

    def to_table(self) -> TableView:
        return TableView(lead=(Note(f"ok: {self.database} passed the integrity check ({self.bytes:,} bytes"
                                    f"{', read-only' if self.readonly else ''}); {self.snapshots} snapshot(s) "
                                    "in backups/"),))


#: True in a process that runs one command and then ends (the console script, except
#: ``qda serve``; set by the CLI): what a command built while the cycle collector was paused is
#: frozen when the collector resumes, instead of being scanned once more before the process exits.
one_command = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a sheet's hundreds of thousands of rows, segments
    and codings are built: they hold no reference cycles, and the collector's repeated passes
    over them took a third of an import of 1,000 interviews."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # resuming, the collector scans every object made in the pause (0.1 s after a
            # report of 1,000 interviews); a process that ends after this command skips that
            # scan, a long-running one (qda serve, the API) keeps collecting them
            if one_command:
                gc.freeze()
            gc.enable()
