"""The project's names for shell completion, without loading the facade.

A TAB in the shell must answer in well under 0.2 s; importing :mod:`qda.project` (the
ingest, coding and export layers behind it) costs more than that alone. This module is a
second door at the facade's level that only reads: :func:`project_names` opens the
database read-only, never migrates and writes nothing.
"""

from __future__ import annotations

from qda.store import project_names

__all__ = ["project_names"]
