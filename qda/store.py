"""The project database (SQLite). The only module that touches sqlite3.

One file per project, WAL journal, foreign keys on. The schema carries a version and
is brought up to date by one migration per version. Every write goes through
:meth:`Store.transaction`, so a failing command leaves the project as it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qda.errors import BusyError, ProjectError
from qda.models import (
    AttributeDef,
    Case,
    Category,
    Code,
    Codebook,
    Coding,
    CodingScope,
    Document,
    DocumentWrite,
    Memo,
    Pattern,
    Segment,
    Tokens,
    Variable,
    segment_ref,
)

DB_NAME = "project.qda"

MIGRATIONS: list[str] = [
    # version 1: the foundation
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE case_attributes (
        case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        position INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (case_id, name)
    );
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        case_id INTEGER NOT NULL REFERENCES cases(id),
        text TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL DEFAULT 'fr',
        imported_at TEXT NOT NULL
    );
    CREATE TABLE speakers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT
    );
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        turn INTEGER NOT NULL,
        speaker_id INTEGER REFERENCES speakers(id),
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        timestamp TEXT,
        UNIQUE (document_id, ordinal)
    );
    CREATE TABLE codebook (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        languages TEXT NOT NULL,
        attributes TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        loaded_at TEXT NOT NULL
    );
    CREATE TABLE categories (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        parent TEXT,
        labels TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL
    );
    CREATE TABLE codes (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        category TEXT,
        parent TEXT,
        labels TEXT NOT NULL,
        definition TEXT NOT NULL DEFAULT '',
        include TEXT NOT NULL DEFAULT '',
        exclude TEXT NOT NULL DEFAULT '',
        attributes TEXT NOT NULL DEFAULT '{}',
        patterns TEXT NOT NULL DEFAULT '[]',
        color TEXT,
        guid TEXT,
        codable INTEGER NOT NULL DEFAULT 1,
        position INTEGER NOT NULL
    );
    CREATE TABLE coders (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE codings (
        id INTEGER PRIMARY KEY,
        coder_id INTEGER NOT NULL REFERENCES coders(id),
        code_id INTEGER NOT NULL REFERENCES codes(id),
        document_id INTEGER NOT NULL REFERENCES documents(id),
        segment_id INTEGER REFERENCES segments(id),
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'sheet',
        note TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX codings_by_code_doc ON codings(code_id, document_id);
    CREATE INDEX codings_by_coder ON codings(coder_id);
    CREATE INDEX segments_by_doc ON segments(document_id, ordinal);
    """,
    # version 2: tokens and lemmas kept for auto-coding, old texts of revised transcripts,
    # which pattern fired for an auto coding, and flags on codings (orphaned after a revision)
    """
    CREATE TABLE tokens (
        document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        starts BLOB NOT NULL,
        ends BLOB NOT NULL,
        lower TEXT NOT NULL,
        lemma TEXT NOT NULL
    );
    CREATE TABLE document_versions (
        id INTEGER PRIMARY KEY,
        document TEXT NOT NULL,
        text TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        replaced_at TEXT NOT NULL
    );
    ALTER TABLE codings ADD COLUMN pattern TEXT;
    ALTER TABLE codings ADD COLUMN status TEXT NOT NULL DEFAULT 'ok';
    """,
    # REFI-QDA interchange: memos (notes), and the declared types of case attributes (variables)
    """
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        guid TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT '',
        target_kind TEXT NOT NULL DEFAULT 'project',
        target TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE variables (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL DEFAULT 'Text',
        description TEXT NOT NULL DEFAULT ''
    );
    """,
    # Replacing a coder's codings on some segments or documents (re-importing a sheet)
    # finds them by index instead of scanning all of the coder's codings per row.
    """
    CREATE INDEX codings_by_coder_segment ON codings(coder_id, segment_id);
    CREATE INDEX codings_by_coder_document ON codings(coder_id, document_id);
    """,
    # accounts of the browser workspace (qda serve on a non-local address): scrypt hashes only
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        password TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def now() -> str:
    """UTC timestamp in ISO 8601, second precision."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Store:
    """Access to one project database."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.db = connection
        self.path = path
        self._depth = 0

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, folder: Path) -> Store:
        """Create the database of a new project in ``folder``."""
        db_path = folder / DB_NAME
        if db_path.exists():
            raise ProjectError(f"{folder}: already a qda project ({DB_NAME} exists)")
        folder.mkdir(parents=True, exist_ok=True)
        store = cls(cls._connect(db_path), db_path)
        store.migrate()
        return store

    @classmethod
    def open(cls, folder: Path) -> Store:
        """Open an existing project, migrating an older schema forward."""
        db_path = folder / DB_NAME
        if not db_path.exists():
            raise ProjectError(f"{folder}: not a qda project (no {DB_NAME})", )
        store = cls(cls._connect(db_path), db_path)
        version = store.schema_version()
        if version > SCHEMA_VERSION:
            raise ProjectError(f"{db_path}: written by a newer qda (schema {version}, this qda knows {SCHEMA_VERSION})",)
        if version < SCHEMA_VERSION:
            store.migrate()
        return store

    @staticmethod
    def _connect(db_path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(db_path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"{db_path}: cannot open the project database: {exc}") from None
        return db

    def close(self) -> None:
        self.db.close()

    def schema_version(self) -> int:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"{self.path}: not a qda database ({exc})") from None
        return int(row[0]) if row else 0

    def migrate(self) -> None:
        """Apply every migration above the current version, each in its own transaction."""
        current = self.schema_version()
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in MIGRATIONS[version - 1].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(version),))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write; nested uses join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            raise BusyError(f"{self.path}: the project is busy (another command is writing to it); "
                            "nothing was changed, try again in a moment") from None
        self._depth = 1
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        row = self.db.execute(sql, args).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        return self._one("SELECT value FROM meta WHERE key=?", (key,))

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ cases
    def ensure_case(self, name: str) -> int:
        found = self._one("SELECT id FROM cases WHERE name=?", (name,))
        if found is not None:
            return int(found)
        return int(self.db.execute("INSERT INTO cases(name) VALUES (?)", (name,)).lastrowid)

    def set_case_attributes(self, name: str, attributes: dict[str, str]) -> None:
        case_id = self.ensure_case(name)
        self.db.execute("DELETE FROM case_attributes WHERE case_id=?", (case_id,))
        self.db.executemany(
            "INSERT INTO case_attributes(case_id, name, value, position) VALUES (?, ?, ?, ?)",
            [(case_id, k, v, i) for i, (k, v) in enumerate(attributes.items())])

    def save_cases(self, cases: Sequence[Case]) -> None:
        """Create cases as needed and replace their attributes with the given ones."""
        for case in cases:
            self.set_case_attributes(case.name, case.attributes)

    def set_document_case(self, name: str, case: str) -> None:
        self.db.execute("UPDATE documents SET case_id=? WHERE name=?", (self.ensure_case(case), name))

    def drop_empty_cases(self) -> None:
        """Forget cases left with no document and no attribute (e.g. after a document changed case)."""
        self.db.execute("DELETE FROM cases WHERE id NOT IN (SELECT case_id FROM documents) "
                        "AND id NOT IN (SELECT case_id FROM case_attributes)")

    def cases(self) -> list[Case]:
        attrs: dict[int, dict[str, str]] = {}
        for case_id, name, value in self.db.execute(
                "SELECT case_id, name, value FROM case_attributes ORDER BY case_id, position"):
            attrs.setdefault(case_id, {})[name] = value
        return [Case(name, attrs.get(cid, {})) for cid, name in
                self.db.execute("SELECT id, name FROM cases ORDER BY name")]

    # ------------------------------------------------------------------ documents
    def document(self, name: str) -> Document | None:
        row = self.db.execute(
            "SELECT d.name, c.name, d.text, d.sha256, d.source, d.language FROM documents d "
            "JOIN cases c ON c.id = d.case_id WHERE d.name=?", (name,)).fetchone()
        return Document(*row) if row else None

    def documents(self) -> list[Document]:
        return [Document(*row) for row in self.db.execute(
            "SELECT d.name, c.name, d.text, d.sha256, d.source, d.language FROM documents d "
            "JOIN cases c ON c.id = d.case_id ORDER BY d.name")]

    def document_id(self, name: str) -> int | None:
        found = self._one("SELECT id FROM documents WHERE name=?", (name,))
        return None if found is None else int(found)

    def add_document(self, doc: Document) -> int:
        case_id = self.ensure_case(doc.case)
        return int(self.db.execute(
            "INSERT INTO documents(name, case_id, text, sha256, source, language, imported_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (doc.name, case_id, doc.text, doc.sha256, doc.source, doc.language, now())).lastrowid)

    def delete_document(self, name: str) -> None:
        doc_id = self.document_id(name)
        if doc_id is not None:
            self.db.execute("DELETE FROM codings WHERE document_id=?", (doc_id,))
            self.db.execute("DELETE FROM segments WHERE document_id=?", (doc_id,))
            self.db.execute("DELETE FROM documents WHERE id=?", (doc_id,))

    def save_documents(self, writes: Sequence[DocumentWrite]) -> None:
        """Store documents with their segments and tokens (see :class:`qda.models.DocumentWrite`)."""
        for write in writes:
            doc = write.document
            if write.action == "move":
                self.set_document_case(doc.name, doc.case)
                continue
            if write.action == "revise":
                self._archive_document(doc.name)
                doc_id = self._replace_document_text(doc.name, doc)
            else:
                if write.action == "replace":
                    self.delete_document(doc.name)
                doc_id = self.add_document(doc)
            self._add_segments(doc_id, write.segments)
            if write.tokens is not None:
                self._save_tokens(doc_id, write.tokens)

    def count_codings(self, document: str | None = None, coder: str | None = None) -> int:
        sql = ("SELECT COUNT(*) FROM codings k JOIN documents d ON d.id=k.document_id "
               "JOIN coders c ON c.id=k.coder_id WHERE 1=1")
        args: list[Any] = []
        if document is not None:
            sql += " AND d.name=?"
            args.append(document)
        if coder is not None:
            sql += " AND c.name=?"
            args.append(coder)
        return int(self._one(sql, args))

    # ------------------------------------------------------------------ segments
    def _speaker_id(self, name: str | None, role: str | None = None) -> int | None:
        if not name:
            return None
        found = self._one("SELECT id FROM speakers WHERE name=?", (name,))
        if found is not None:
            return int(found)
        return int(self.db.execute("INSERT INTO speakers(name, role) VALUES (?, ?)", (name, role)).lastrowid)

    def _add_segments(self, document_id: int, segments: Iterable[Segment]) -> None:
        rows = [(document_id, s.ordinal, s.turn, self._speaker_id(s.speaker, s.role), s.start, s.end, s.timestamp)
                for s in segments]
        self.db.executemany(
            'INSERT INTO segments(document_id, ordinal, turn, speaker_id, start, "end", timestamp) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def segments(self, document: str | None = None, case: str | None = None) -> list[Segment]:
        """Segments in document then reading order, with their text sliced from the document."""
        sql = ('SELECT d.name, c.name, s.turn, s.ordinal, s.start, s."end", sp.name, sp.role, s.timestamp '
               "FROM segments s JOIN documents d ON d.id=s.document_id JOIN cases c ON c.id=d.case_id "
               "LEFT JOIN speakers sp ON sp.id=s.speaker_id WHERE 1=1")
        args: list[Any] = []
        if document is not None:
            sql += " AND d.name=?"
            args.append(document)
        if case is not None:
            sql += " AND c.name=?"
            args.append(case)
        sql += " ORDER BY d.name, s.ordinal"
        rows = self.db.execute(sql, args).fetchall()
        texts = self._texts({row[0] for row in rows})
        return [Segment(ref=segment_ref(doc, ordinal), document=doc, case=case_, turn=turn, ordinal=ordinal,
                        start=start, end=end, text=texts[doc][start:end], speaker=speaker, role=role, timestamp=ts)
                for doc, case_, turn, ordinal, start, end, speaker, role, ts in rows]

    def segment_bounds(self, document: str, start: int | None = None, end: int | None = None) -> list[Segment]:
        """A document's segments without their text or speakers (fast: for checking spans);
        with ``start`` and ``end``, only the segments overlapping that span."""
        sql = 'SELECT turn, ordinal, start, "end" FROM segments WHERE document_id=?'
        args: list[Any] = [self.document_id(document)]
        if start is not None and end is not None:
            sql += ' AND start < ? AND "end" > ?'
            args += [end, start]
        return [Segment(ref=segment_ref(document, ordinal), document=document, case="", turn=turn, ordinal=ordinal,
                        start=s_start, end=s_end, text="")
                for turn, ordinal, s_start, s_end in self.db.execute(sql + " ORDER BY ordinal", args)]

    def _texts(self, names: set[str]) -> dict[str, str]:
        """The texts of the named documents, each read once.

        Rows of segments and codings slice these; selecting the text with every row
        would copy a whole document per segment.
        """
        if not names:
            return {}
        if len(names) <= 500:
            marks = ", ".join("?" * len(names))
            return dict(self.db.execute(f"SELECT name, text FROM documents WHERE name IN ({marks})", list(names)))
        return {name: text for name, text in self.db.execute("SELECT name, text FROM documents") if name in names}

    def segment_spans(self, roles: Sequence[str] | None = None) -> list[Segment]:
        """Every segment (of speakers with ``roles`` when given) without its text, for speed."""
        sql = ('SELECT d.name, c.name, s.turn, s.ordinal, s.start, s."end", sp.name, sp.role, s.timestamp '
               "FROM segments s JOIN documents d ON d.id=s.document_id JOIN cases c ON c.id=d.case_id "
               "LEFT JOIN speakers sp ON sp.id=s.speaker_id")
        args: list[Any] = []
        if roles:
            sql += f" WHERE sp.role IN ({', '.join('?' * len(roles))})"
            args.extend(roles)
        return [Segment(ref=segment_ref(doc, ordinal), document=doc, case=case_, turn=turn, ordinal=ordinal,
                        start=start, end=end, text="", speaker=speaker, role=role, timestamp=ts)
                for doc, case_, turn, ordinal, start, end, speaker, role, ts in
                self.db.execute(sql + " ORDER BY d.name, s.ordinal", args)]

    def _segment_ids(self, refs: set[str] | None = None) -> dict[str, tuple[int, int, int, int]]:
        """Segment ref -> (segment id, document id, start, end), of every segment or of ``refs``.

        A few refs (one coding made in the workspace) are looked up one by one: building
        the whole map costs tens of milliseconds on a large project.
        """
        result: dict[str, tuple[int, int, int, int]] = {}
        if refs is not None and len(refs) <= 100:
            for ref in refs:
                document, _, ordinal = ref.rpartition("#")
                row = self.db.execute('SELECT s.id, d.id, s.start, s."end" FROM segments s JOIN documents d '
                                      "ON d.id=s.document_id WHERE d.name=? AND s.ordinal=?",
                                      (document, int(ordinal) if ordinal.isdigit() else -1)).fetchone()
                if row is not None:
                    result[ref] = tuple(row)  # type: ignore[assignment]
            return result
        for sid, doc_id, doc, ordinal, start, end in self.db.execute(
                'SELECT s.id, d.id, d.name, s.ordinal, s.start, s."end" FROM segments s '
                "JOIN documents d ON d.id=s.document_id"):
            result[segment_ref(doc, ordinal)] = (sid, doc_id, start, end)
        return result

    # ------------------------------------------------------------------ codebook
    def save_codebook(self, codebook: Codebook, source: str = "") -> None:
        """Replace the project's codebook; codes keep their row ids (and codings) by key."""
        self.db.execute(
            "INSERT OR REPLACE INTO codebook(id, name, description, languages, attributes, source, loaded_at) "
            "VALUES (1, ?, ?, ?, ?, ?, ?)",
            (codebook.name, codebook.description, json.dumps(list(codebook.languages)),
             json.dumps([{"name": a.name, "values": list(a.values), "description": a.description}
                         for a in codebook.attributes], ensure_ascii=False), source, now()))
        self.db.execute("DELETE FROM categories")
        self.db.executemany(
            "INSERT INTO categories(key, parent, labels, description, position) VALUES (?, ?, ?, ?, ?)",
            [(c.id, c.parent, json.dumps(c.labels, ensure_ascii=False), c.description, i)
             for i, c in enumerate(codebook.categories)])
        keep = {c.id for c in codebook.codes}
        existing = {key for (key,) in self.db.execute("SELECT key FROM codes")}
        for key in existing - keep:
            self.db.execute("DELETE FROM codes WHERE key=?", (key,))
        for i, c in enumerate(codebook.codes):
            values = (c.category, c.parent, json.dumps(c.labels, ensure_ascii=False), c.definition, c.include,
                      c.exclude, json.dumps(c.attributes, ensure_ascii=False),
                      json.dumps([p.__dict__ for p in c.patterns], ensure_ascii=False),
                      c.color, c.guid, int(c.codable), i)
            if c.id in existing:
                self.db.execute(
                    "UPDATE codes SET category=?, parent=?, labels=?, definition=?, include=?, exclude=?, "
                    "attributes=?, patterns=?, color=?, guid=?, codable=?, position=? WHERE key=?", values + (c.id,))
            else:
                self.db.execute(
                    "INSERT INTO codes(category, parent, labels, definition, include, exclude, attributes, "
                    "patterns, color, guid, codable, position, key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values + (c.id,))

    def codes_in_use(self) -> dict[str, int]:
        """Code key -> number of codings, for codes that have codings."""
        return {key: n for key, n in self.db.execute(
            "SELECT c.key, COUNT(*) FROM codings k JOIN codes c ON c.id=k.code_id GROUP BY c.key")}

    def codebook(self) -> Codebook | None:
        row = self.db.execute("SELECT name, description, languages, attributes FROM codebook WHERE id=1").fetchone()
        if row is None:
            return None
        name, description, languages, attributes = row
        cats = tuple(Category(key, json.loads(labels), parent, desc) for key, parent, labels, desc in
                     self.db.execute("SELECT key, parent, labels, description FROM categories ORDER BY position"))
        codes = tuple(
            Code(id=key, labels=json.loads(labels), category=cat, parent=parent, definition=definition,
                 include=include, exclude=exclude, attributes=json.loads(attrs),
                 patterns=tuple(Pattern(**p) for p in json.loads(patterns)), color=color, guid=guid,
                 codable=bool(codable))
            for key, cat, parent, labels, definition, include, exclude, attrs, patterns, color, guid, codable in
            self.db.execute("SELECT key, category, parent, labels, definition, include, exclude, attributes, "
                            "patterns, color, guid, codable FROM codes ORDER BY position"))
        return Codebook(name=name, languages=tuple(json.loads(languages)),
                        attributes=tuple(AttributeDef(a["name"], tuple(a["values"]), a.get("description", ""))
                                         for a in json.loads(attributes)),
                        categories=cats, codes=codes, description=description)

    def codebook_source(self) -> str:
        return self._one("SELECT source FROM codebook WHERE id=1") or ""

    # ------------------------------------------------------------------ coders and codings
    def ensure_coder(self, name: str) -> int:
        found = self._one("SELECT id FROM coders WHERE name=?", (name,))
        if found is not None:
            return int(found)
        return int(self.db.execute("INSERT INTO coders(name, created_at) VALUES (?, ?)", (name, now())).lastrowid)

    def coders(self) -> list[str]:
        return [name for (name,) in self.db.execute("SELECT name FROM coders ORDER BY id")]

    def replace_codings(self, replace: Sequence[CodingScope], codings: Sequence[Coding]) -> int:
        """Remove the stored codings in ``replace``, then store ``codings`` (their ``id`` is
        ignored; one without ``created_at`` is stamped now). Returns how many were removed.

        Codings name their coder, code, document and segment (ref); coders are created
        when new, the rest must exist.
        """
        removed = 0
        for scope in replace:
            coder_id = self._one("SELECT id FROM coders WHERE name=?", (scope.coder,))
            if coder_id is None:
                continue
            if scope.segments is not None:
                ids = self._segment_ids()
                removed += sum(self.db.execute("DELETE FROM codings WHERE coder_id=? AND segment_id=?",
                                               (coder_id, ids[ref][0])).rowcount for ref in scope.segments)
            elif scope.documents is None:
                removed += self.db.execute("DELETE FROM codings WHERE coder_id=?", (coder_id,)).rowcount
            else:
                removed += sum(self.db.execute(
                    "DELETE FROM codings WHERE coder_id=? AND document_id=(SELECT id FROM documents WHERE name=?)",
                    (coder_id, name)).rowcount for name in scope.documents)
        self.db.executemany(
            'INSERT INTO codings(coder_id, code_id, document_id, segment_id, start, "end", created_at, source, note, '
            "pattern, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._coding_rows(codings))
        return removed

    def _coding_rows(self, codings: Sequence[Coding]) -> list[tuple[Any, ...]]:
        """Codings as rows of the codings table (names resolved to row ids)."""
        if not codings:
            return []
        codes = {key: cid for cid, key in self.db.execute("SELECT id, key FROM codes")}
        docs = {name: did for did, name in self.db.execute("SELECT id, name FROM documents")}
        refs = {c.segment for c in codings if c.segment}
        segments = self._segment_ids(refs) if refs else {}
        unknown = sorted({f"code '{c.code}'" for c in codings if c.code not in codes}
                         | {f"document '{c.document}'" for c in codings if c.document not in docs}
                         | {f"segment '{c.segment}'" for c in codings if c.segment and c.segment not in segments})
        if unknown:
            raise ProjectError(f"cannot store codings on unknown {', '.join(unknown)}")
        coders = {name: self.ensure_coder(name) for name in dict.fromkeys(c.coder for c in codings)}
        stamp = now()
        return [(coders[c.coder], codes[c.code], docs[c.document], segments[c.segment][0] if c.segment else None,
                 c.start, c.end, c.created_at or stamp, c.source, c.note, c.pattern, c.status) for c in codings]

    def update_codings(self, codings: Sequence[Coding]) -> None:
        """Write changed codings back (code, span, segment, note, status), by their ids."""
        if any(c.id is None for c in codings):
            raise ProjectError("a coding without an id cannot be updated")
        codes = {key: cid for cid, key in self.db.execute("SELECT id, key FROM codes")}
        refs = {c.segment for c in codings if c.segment}
        segments = self._segment_ids(refs) if refs else {}
        self.db.executemany(
            'UPDATE codings SET code_id=?, start=?, "end"=?, segment_id=?, note=?, status=? WHERE id=?',
            [(codes.get(c.code), c.start, c.end, segments[c.segment][0] if c.segment else None, c.note, c.status,
              c.id) for c in codings])

    def codings(self, coder: str | None = None, case: str | None = None, document: str | None = None,
                ids: Sequence[int] | None = None) -> list[Coding]:
        """Codings with their text, in document and text order."""
        sql = ('SELECT co.name, c.key, d.name, ca.name, k.start, k."end", s.ordinal, sp.name, '
               "k.created_at, k.source, k.note, k.pattern, k.status, k.id FROM codings k "
               "JOIN coders co ON co.id=k.coder_id "
               "JOIN codes c ON c.id=k.code_id JOIN documents d ON d.id=k.document_id "
               "JOIN cases ca ON ca.id=d.case_id LEFT JOIN segments s ON s.id=k.segment_id "
               "LEFT JOIN speakers sp ON sp.id=s.speaker_id WHERE 1=1")
        args: list[Any] = []
        if coder is not None:
            sql += " AND co.name=?"
            args.append(coder)
        if case is not None:
            sql += " AND ca.name=?"
            args.append(case)
        if document is not None:
            sql += " AND d.name=?"
            args.append(document)
        if ids is not None:
            sql += f" AND k.id IN ({', '.join('?' * len(ids))})"
            args.extend(ids)
        sql += ' ORDER BY co.name, d.name, k.start, k."end", c.position'
        rows = self.db.execute(sql, args).fetchall()
        texts = self._texts({row[2] for row in rows})
        return [Coding(coder=coder_, code=code, document=doc, case=case_, start=start, end=end,
                       segment=segment_ref(doc, ordinal) if ordinal is not None else None,
                       text=texts[doc][start:end], speaker=speaker, created_at=created, source=source, note=note,
                       pattern=pattern, status=status, id=row_id)
                for coder_, code, doc, case_, start, end, ordinal, speaker, created, source, note, pattern,
                status, row_id in rows]

    # ------------------------------------------------------------------ tokens, versions, roles
    def _save_tokens(self, document_id: int, tokens: Tokens) -> None:
        """Keep a document's tokens (offsets as int32 arrays, words joined by U+001F)."""
        self.db.execute("INSERT OR REPLACE INTO tokens(document_id, starts, ends, lower, lemma) VALUES (?, ?, ?, ?, ?)",
                        (document_id, tokens.starts.tobytes(), tokens.ends.tobytes(), "\x1f".join(tokens.lower),
                         "\x1f".join(tokens.lemma)))

    def tokens(self) -> Iterator[tuple[str, str, str, bytes, bytes, list[str], list[str]]]:
        """(document, language, text, starts, ends, lower, lemma) for every tokenised document."""
        for name, language, text, starts, ends, lower, lemma in self.db.execute(
                "SELECT d.name, d.language, d.text, t.starts, t.ends, t.lower, t.lemma FROM tokens t "
                "JOIN documents d ON d.id=t.document_id ORDER BY d.name"):
            yield name, language, text, starts, ends, lower.split("\x1f") if lower else [], \
                lemma.split("\x1f") if lemma else []

    def _archive_document(self, name: str) -> None:
        """Keep the current text of a document before it is replaced by a revision."""
        doc = self.document(name)
        if doc is not None:
            self.db.execute("INSERT INTO document_versions(document, text, sha256, source, replaced_at) "
                            "VALUES (?, ?, ?, ?, ?)", (doc.name, doc.text, doc.sha256, doc.source, now()))

    def document_versions(self, name: str) -> list[tuple[str, str, str]]:
        """Earlier texts of a document: (replaced_at, sha256, text), oldest first."""
        return list(self.db.execute("SELECT replaced_at, sha256, text FROM document_versions WHERE document=? "
                                    "ORDER BY id", (name,)))

    def _replace_document_text(self, name: str, doc: Document) -> int:
        """Swap a document's text for a revision; its segments and tokens are dropped (codings stay)."""
        doc_id = self.document_id(name)
        if doc_id is None:
            raise ProjectError(f"no document '{name}'")
        self.db.execute("UPDATE codings SET segment_id=NULL WHERE document_id=?", (doc_id,))
        self.db.execute("DELETE FROM segments WHERE document_id=?", (doc_id,))
        self.db.execute("DELETE FROM tokens WHERE document_id=?", (doc_id,))
        self.db.execute("UPDATE documents SET text=?, sha256=?, source=?, language=?, imported_at=? WHERE id=?",
                        (doc.text, doc.sha256, doc.source, doc.language, now(), doc_id))
        return doc_id

    def speakers(self) -> list[tuple[str, str | None, int]]:
        """(speaker, role, number of segments)."""
        return list(self.db.execute(
            "SELECT sp.name, sp.role, COUNT(s.id) FROM speakers sp LEFT JOIN segments s ON s.speaker_id=sp.id "
            "GROUP BY sp.id ORDER BY sp.name"))

    def set_speaker_role(self, name: str, role: str | None) -> bool:
        return self.db.execute("UPDATE speakers SET role=? WHERE name=?", (role, name)).rowcount > 0

    # ------------------------------------------------------------------ variables (declared attribute types)
    def save_variables(self, variables: Sequence[Variable]) -> None:
        """Declare the types of case attributes (kept for REFI-QDA exchange)."""
        self.db.executemany("INSERT OR REPLACE INTO variables(name, type, description) VALUES (?, ?, ?)",
                            [(v.name, v.type, v.description) for v in variables])

    def variables(self) -> dict[str, tuple[str, str]]:
        """Case attribute -> (declared REFI type, description)."""
        return {name: (type_, description) for name, type_, description in
                self.db.execute("SELECT name, type, description FROM variables ORDER BY name")}

    # ------------------------------------------------------------------ one coding at a time (workspace)
    # Model objects in, model objects out: the coder, code, document and segment are named,
    # never given as row ids.
    def insert_codings(self, codings: Sequence[Coding]) -> list[Coding]:
        """Store new codings (their ``id`` is ignored) and return them with their ids.

        Coders are created when new; codes, documents and segment refs must exist.
        A coding without ``created_at`` is stamped now.
        """
        ids = [int(self.db.execute(
            'INSERT INTO codings(coder_id, code_id, document_id, segment_id, start, "end", created_at, source, '
            "note, pattern, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row).lastrowid or 0)
            for row in self._coding_rows(codings)]
        stored: dict[int | None, Coding] = {}
        for at in range(0, len(ids), 500):  # SQLite caps the parameters of one statement
            stored.update((c.id, c) for c in self.codings(ids=ids[at:at + 500]))
        return [stored[i] for i in ids]

    def coding(self, coding_id: int) -> Coding | None:
        """One coding by id, with its text."""
        found = self.codings(ids=[coding_id])
        return found[0] if found else None

    def update_coding(self, coding: Coding) -> Coding:
        """Write a changed coding back (code, span, segment, note, status), by its id."""
        self.update_codings([coding])
        updated = self.coding(coding.id or 0)
        assert updated is not None
        return updated

    def delete_coding(self, coding_id: int) -> bool:
        """Remove one coding; False when there was none with that id."""
        return self.db.execute("DELETE FROM codings WHERE id=?", (coding_id,)).rowcount > 0

    # ------------------------------------------------------------------ memos
    def insert_memo(self, memo: Memo) -> Memo:
        """Store a new memo and return it with its id."""
        row_id = self.db.execute(
            "INSERT INTO notes(guid, name, text, author, created_at, target_kind, target) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (memo.guid, memo.name, memo.text, memo.author, memo.created_at or now(), memo.target_kind,
             memo.target)).lastrowid
        return self.memos(ids=[int(row_id)])[0]  # type: ignore[arg-type]

    def insert_memos(self, memos: Sequence[Memo]) -> None:
        """Store memos as they are (an imported memo keeps its GUID and time, even empty)."""
        self.db.executemany(
            "INSERT INTO notes(guid, name, text, author, created_at, target_kind, target) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(m.guid, m.name, m.text, m.author, m.created_at, m.target_kind, m.target) for m in memos])

    def memos(self, target_kind: str | None = None, target: str | None = None,
              ids: Sequence[int] | None = None) -> list[Memo]:
        """Memos in the order they were written, optionally of one target."""
        sql = "SELECT text, target_kind, target, name, author, created_at, guid, id FROM notes WHERE 1=1"
        args: list[Any] = []
        if target_kind is not None:
            sql += " AND target_kind=?"
            args.append(target_kind)
        if target is not None:
            sql += " AND target=?"
            args.append(target)
        if ids is not None:
            sql += f" AND id IN ({', '.join('?' * len(ids))})"
            args.extend(ids)
        return [Memo(*row) for row in self.db.execute(sql + " ORDER BY id", args)]

    def update_memo(self, memo: Memo) -> Memo:
        """Write a memo's text and name back, by its id."""
        self.db.execute("UPDATE notes SET text=?, name=? WHERE id=?", (memo.text, memo.name, memo.id))
        return self.memos(ids=[memo.id or 0])[0]

    def delete_memo(self, memo_id: int) -> bool:
        return self.db.execute("DELETE FROM notes WHERE id=?", (memo_id,)).rowcount > 0

    # ------------------------------------------------------------------ workspace accounts
    def set_user(self, name: str, password_hash: str) -> None:
        """Create or replace an account (the hash, never the password)."""
        self.db.execute("INSERT OR REPLACE INTO users(name, password, created_at) VALUES (?, ?, ?)",
                        (name, password_hash, now()))

    def user_hash(self, name: str) -> str | None:
        found = self._one("SELECT password FROM users WHERE name=?", (name,))
        return None if found is None else str(found)

    def users(self) -> list[str]:
        return [str(name) for (name,) in self.db.execute("SELECT name FROM users ORDER BY name")]
