"""qda: qualitative data analysis from the command line.

The Python API mirrors the commands: open a :class:`~qda.project.Project` and call its
methods; results keep the contract of :class:`qda.results.Result` (``to_dict()``,
``to_frame()``, ``to_table()``).
"""

from __future__ import annotations

import os as _os
from typing import TYPE_CHECKING, Any

from qda.errors import QdaError

if TYPE_CHECKING:
    from qda.project import Project

if _os.environ.get("_QDA_COMPLETE", "").startswith("complete_"):  # a TAB in the shell: answer it
    from qda.completion import answer_from_environment  # before typer loads, when it can

    answer_from_environment()

__version__ = "0.1.0"
__all__ = ["Project", "QdaError", "__version__"]


def __getattr__(name: str) -> Any:
    # ``qda --help`` must not pay for the whole API: Project is imported on first use.
    if name == "Project":
        from qda.project import Project

        return Project
    raise AttributeError(f"module 'qda' has no attribute {name!r}")
