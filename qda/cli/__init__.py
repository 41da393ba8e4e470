"""The ``qda`` command line: parse arguments, make one API call, render the result.

QdaError and its kin are caught in one place (:class:`QdaGroup`) and become a message
on stderr with exit code 1. This package module assembles the app: its machinery is in
:mod:`qda.cli.base` (the app, options, the error boundary, ``main``) and
:mod:`qda.cli.output` (rendering), the commands in one module per topic, registered by
importing them below in the order ``qda --help`` lists them.
"""

from __future__ import annotations

from qda.cli.base import (
    COMPLETERS,
    ByOpt,
    CaseOpt,
    CoderOpt,
    FormatOpt,
    LangOpt,
    LegacyPath,
    OutputOpt,
    ProgressBars,
    QdaGroup,
    SetOpt,
    api,
    app,
    code_app,
    codebook_app,
    complete,
    debug_enabled,
    export_app,
    import_app,
    main,
    matrix_app,
    opened,
    output_path,
    readable_metavar,
    readable_metavars,
    root,
)
from qda.cli.output import (
    CSV_SAFE,
    cell_text,
    csv_text,
    err,
    out,
    print_view,
    render,
)

# The commands, registered on the app by importing their modules (they use the names above);
# their order is the order of `qda --help`.
# isort: off
from qda.cli import basics as _basics  # noqa: F401  (registers qda version, init, status)
from qda.cli import imports as _imports  # noqa: F401  (registers qda import ..., qda speakers)
from qda.cli import coding as _coding  # noqa: F401  (registers codebook validate/load/show, code sheet/auto/import)
from qda.cli import matrices as _matrices  # noqa: F401  (registers qda matrix ..., export workbook)
from qda.cli import agree as _agree  # noqa: F401  (registers qda agree and adjudication)
from qda.cli import analysis as _analysis  # noqa: F401  (registers retrieve, words, search, figure, report)
from qda.cli import codes as _codes  # noqa: F401  (registers codebook add, rename, merge)
from qda.cli import doctor as _doctor  # noqa: F401  (registers qda doctor)
from qda.cli import document as _document  # noqa: F401  (registers qda export document)
from qda.cli import documents as _documents  # noqa: F401  (registers qda document delete and resplit)
from qda.cli import refi as _refi  # noqa: F401  (registers the REFI-QDA commands)
from qda.cli import safety as _safety  # noqa: F401  (registers check, history, undo, backup)
from qda.cli import serve as _serve  # noqa: F401  (registers qda serve and qda users)
from qda.cli import sets as _sets  # noqa: F401  (registers qda set add/list)
from qda.cli import suggest as _suggest  # noqa: F401  (registers qda suggest ...)
# isort: on

__all__ = [
    "ByOpt",
    "COMPLETERS",
    "CSV_SAFE",
    "CaseOpt",
    "CoderOpt",
    "FormatOpt",
    "LangOpt",
    "LegacyPath",
    "OutputOpt",
    "ProgressBars",
    "QdaGroup",
    "SetOpt",
    "api",
    "app",
    "cell_text",
    "code_app",
    "codebook_app",
    "complete",
    "csv_text",
    "debug_enabled",
    "err",
    "export_app",
    "import_app",
    "main",
    "matrix_app",
    "opened",
    "out",
    "output_path",
    "print_view",
    "readable_metavar",
    "readable_metavars",
    "render",
    "root",
]
