"""Reports of REFI-QDA imports and exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qda.refi.model import MissingSource, OffsetReport, Unsupported
from qda.results import TableView, frame_view, jsonable

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RefiImportReport:
    """What an import found in the file and what it stored."""

    file: str
    origin: str
    mode: str
    in_file: dict[str, int]
    imported: dict[str, int]
    offsets: OffsetReport | None = None
    coders: dict[str, int] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)  # source name -> document (created or matched)
    missing: tuple[MissingSource, ...] = ()
    warnings: tuple[str, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()
    #: project code id -> the rule that matched it to a code of the file: "id" (qda's own id),
    #: "guid", "name" (its name or a label), "new" (no match: a new code)
    matches: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "origin": self.origin, "mode": self.mode, "in_file": dict(self.in_file),
                "matches": dict(self.matches),
                "imported": dict(self.imported), "offsets": self.offsets.to_dict() if self.offsets else None,
                "coders": dict(self.coders), "documents": dict(self.documents),
                "missing_sources": [jsonable(m) for m in self.missing], "warnings": list(self.warnings),
                "unsupported": [jsonable(u) for u in self.unsupported]}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        got, found = self.imported, self.in_file

        def row(what: str, in_file: int | None, imported: int | None, note: str = "") -> dict[str, Any]:
            return {"what": what, "in file": in_file, "imported": imported, "note": note}

        if self.mode == "codebook":
            rows = [row("codes", found.get("codes", 0), got.get("codes", 0),
                        f"{got.get('categories', 0)} categories" if got.get("categories") else "")]
        else:
            matched = self.mode != "new project"
            rows = [
                row("codes", found.get("codes", 0), got.get("codes_matched" if matched else "codes", 0),
                    "matched with the project's codebook" if matched
                    else f"{got.get('categories', 0)} of them as categories" if got.get("categories") else ""),
                row("sources", found.get("sources", 0), got.get("documents_matched" if matched else "documents", 0),
                    f"text sources: {found.get('text_sources', 0)}; "
                    + ("documents matched in this project" if matched else "documents created")),
                row("codings", found.get("codings", 0), got.get("codings", 0),
                    f"{got['codings_replaced']} previous codings replaced" if got.get("codings_replaced") else ""),
                *(row(f"coding memos {what}", None, got[key], note) for key, what, note in (
                    ("coding_memos_kept", "kept", "the file has the same codings without their memos"),
                    ("coding_memos_replaced", "replaced", "by the file's version of the memo"),
                    ("coding_memos_removed", "removed", "with their codings, which the file no longer holds"))
                  if got.get(key)),
                row("users", found.get("users", 0), got.get("coders", 0),
                    ", ".join(f"{c}: {n}" for c, n in self.coders.items())),
                *(row(k, found.get(k, 0), got.get(k, 0)) for k in ("cases", "variables", "notes")),
                *([row("sets", found.get("sets", 0), got.get("sets_as_attributes", 0) + got.get("document_sets", 0),
                       f"{got.get('sets_as_attributes', 0)} named 'attribute: value' as case attributes, "
                       f"{got.get('document_sets', 0)} as document sets")] if found.get("sets") else []),
            ]
        by_rule: dict[str, list[str]] = {}
        for code, rule in self.matches.items():
            by_rule.setdefault(rule, []).append(code)
        described = {"id": "matched by qda's code id", "guid": "matched by GUID",
                     "name": "matched by name or label", "new": "no match: new codes"}
        rows += [row(f"codes {described[rule]}", None, len(by_rule[rule]), ", ".join(by_rule[rule][:12])
                     + (" ..." if len(by_rule[rule]) > 12 else ""))
                 for rule in described if by_rule.get(rule)]
        if self.offsets:
            o = self.offsets
            rows.append(row("selections on word boundaries", o.selections, o.aligned,
                            f"positions read as {o.convention} ({o.reason})"
                            + (f"; {o.out_of_range} outside the text" if o.out_of_range else "")))
        rows += [row(f"missing source '{m.name}'", m.codings, 0, f"{m.reason}; its codings are not imported")
                 for m in self.missing]
        rows += [row(f"not imported: {u.kind}", u.count, 0, u.detail) for u in self.unsupported]
        rows += [row("warning", None, None, w) for w in self.warnings]
        frame = pd.DataFrame(rows, columns=["what", "in file", "imported", "note"])
        return frame.astype({"in file": "Int64", "imported": "Int64"})

    def to_table(self) -> TableView:
        return frame_view(self.to_frame())


@dataclass(frozen=True)
class RefiExport:
    """What was written."""

    file: str
    kind: str
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, **self.counts}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"what": k, "written": v} for k, v in self.counts.items()], columns=["what", "written"])

    def to_table(self) -> TableView:
        """"wrote FILE", then what it holds (code_elements, an internal count of the codebook
        written, is what checks the export and stays in the JSON only)."""
        from dataclasses import replace as changed

        from qda.results import Note

        shown = {k: v for k, v in self.counts.items() if k != "code_elements" and not k.startswith("not_exported_")}
        left_out = {k.removeprefix("not_exported_"): v for k, v in self.counts.items() if k.startswith("not_exported_")}
        view = frame_view(RefiExport(self.file, self.kind, shown).to_frame())
        notes = (Note("not exported (kept in the project; see 'Which codings count' in docs/safety.md): "
                      + ", ".join(f"{n} {status}" for status, n in left_out.items())),) if left_out else ()
        return changed(view, lead=(Note(f"wrote {self.file}"),), notes=(*view.notes, *notes))
