"""The one exception hierarchy of qda.

The core raises these; only the CLI catches them (in one place) and turns them into a
message and exit code 1. Every error carries enough location to be fixed by a
researcher: a file, a line or row, and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem found while validating an input file."""

    location: str  # e.g. "codebooks/x.yaml:14" or "coder-a.xlsx row 12"
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text} ({self.hint})" if self.hint else text


class QdaError(Exception):
    """Base class of every error qda reports to the user.

    ``code`` names the kind of error for programs (the workspace's JSON answers carry it as
    ``{"error": {"code": ..., "message": ...}}``, and its page decides on it, never on the
    English message): snake_case, stable, one per class.
    """

    code = "error"

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  {p}" for p in self.problems]
        return "\n".join(lines)


class ProjectError(QdaError):
    """No project found, wrong schema version, or a project-level inconsistency."""

    code = "project_error"


class CodebookError(QdaError):
    """A codebook file is malformed or inconsistent."""

    code = "codebook_error"


class IngestError(QdaError):
    """A transcript or case file cannot be read or would overwrite coded work."""

    code = "ingest_error"


class CodingImportError(QdaError):
    """A coder's sheet has unknown codes, unknown segments or bad rows."""

    code = "coding_import_error"


class EmptyInputError(QdaError):
    """An input that would do nothing (e.g. a coding sheet with no code filled in).

    The CLI reports it as a warning, not an error, but still exits 1: a script must not
    go on to build matrices of zeros.
    """

    code = "empty_input"


class NotFoundError(QdaError):
    """A case, coder, code or document named by the user does not exist."""

    code = "not_found"


class ExportError(QdaError):
    """An output file cannot be written."""

    code = "export_error"


class AgreementError(QdaError):
    """Agreement cannot be computed on the given input."""

    code = "agreement_error"


class InteropError(QdaError):
    """A REFI-QDA file is corrupt, unsafe or cannot be represented."""

    code = "interop_error"


class AnalysisError(QdaError):
    """An analysis (retrieval, co-occurrence, tests, words, search) cannot run on the given options."""

    code = "analysis_error"


class InvalidCodingError(QdaError):
    """A coding asked for in the workspace is not valid (span out of range, unknown code...)."""

    code = "invalid_coding"


class AccessError(QdaError):
    """The coder acting may not do this (another coder's coding, a blind view)."""

    code = "access_denied"


class AuthError(QdaError):
    """Unknown user or wrong password."""

    code = "auth_failed"


class ThrottledError(AuthError):
    """Too many failed logins for an account or from an address: wait, or the lead unlocks."""

    code = "throttled"


class NeedsConfirmation(QdaError):
    """A write that is allowed but unusual; it is done when asked again with ``flag`` set
    (the workspace asks the user first)."""

    code = "needs_confirmation"

    def __init__(self, message: str, flag: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message, problems)
        self.flag = flag


class BusyError(ProjectError):
    """Another command holds the project's write lock for longer than the wait allows."""

    code = "busy"


class SuggestError(QdaError):
    """Code suggestions cannot be trained, run, validated or accepted as asked (qda suggest)."""

    code = "suggest_error"


class ServeError(QdaError):
    """The workspace server cannot start (port in use, address not on this machine)."""

    code = "serve_error"


class DuplicateCodingError(InvalidCodingError):
    """The coder already has this code on exactly this span: storing it again would count it twice."""

    code = "duplicate_coding"


class BadRequestError(InvalidCodingError):
    """A request to the workspace that is not a JSON object, or names fields it does not take."""

    code = "bad_request"


class WouldReplaceError(QdaError):
    """A write would replace a coder's existing codings and was not confirmed (``--replace``,
    or ``replace: true`` from the page): nothing was written."""

    code = "would_replace"

    def __init__(self, coder: str, codings: int, documents: int, hint: str) -> None:
        super().__init__(f"this replaces {codings} coding{'s' * (codings != 1)} of '{coder}' in {documents} "
                         f"document{'s' * (documents != 1)}",
                         [Problem(f"coder '{coder}'", hint)])
        self.coder, self.codings, self.documents = coder, codings, documents
