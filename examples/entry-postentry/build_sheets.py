"""How the example's coding sheets were filled (maintainer tool, not part of the demo).

The coders' decisions are kept as quotes in coding-notes-*.csv (case, quote, and the
codes each coder applied to the sentence holding the quote). This script writes a blank
sheet per coder with ``qda code sheet`` on a scratch project, puts each coder's codes
on the row whose segment contains the quote, and saves the sheets next to this file
(with the tutorial's two sheets of coder 'me', me-E1.xlsx and me-bad.xlsx). It then writes the adjudication sheet of coder-a
vs coder-b and records, for each disagreement, the decision that gives the consensus.
Run it again only if the transcripts change:

    .venv/bin/python examples/entry-postentry/build_sheets.py
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook

from qda import Project

HERE = Path(__file__).parent
CODERS = {"coder_a": "coder-a", "coder_b": "coder-b", "consensus": "consensus"}


def main() -> int:
    notes = [row for path in sorted(HERE.glob("coding-notes-*.csv"))
             for row in csv.DictReader(path.open(encoding="utf-8"))]
    with tempfile.TemporaryDirectory() as scratch:
        project = Project.init(Path(scratch) / "p")
        project.load_codebook(HERE.parent.parent / "codebooks" / "communication-tools.yaml")
        project.import_transcripts(sorted((HERE / "transcripts").glob("*.txt")))
        segments = project.segments()
        failures = 0
        for column, coder in CODERS.items():
            sheet = HERE / f"{coder}.xlsx"
            project.write_coding_sheet(coder, sheet)
            wb = load_workbook(sheet)
            ws = wb["Coding"]
            row_of = {ws.cell(r, 3).value: r for r in range(2, ws.max_row + 1)}
            for note in notes:
                hits = [s for s in segments if s.case == note["case"] and note["quote"] in s.text]
                if len(hits) != 1:
                    print(f"{note['case']}: quote found in {len(hits)} segments: {note['quote']!r}", file=sys.stderr)
                    failures += 1
                    continue
                codes = [c.strip() for c in note[column].split(";") if c.strip()]
                if codes:
                    cell = ws.cell(row_of[hits[0].ref], 7)
                    previous = [c.strip() for c in (cell.value or "").split(";") if c.strip()]
                    cell.value = "; ".join(dict.fromkeys(previous + codes))
            wb.save(sheet)
        for coder in CODERS.values():
            project.import_codings(HERE / f"{coder}.xlsx", coder)
        failures += decide(project, HERE / "adjudication.xlsx")
        tutorial_sheets(project)
        project.close()
    return 1 if failures else 0


# The tutorial's round trip (docs/tutorial.md, step 5): the sheet of coder 'me' on E1,
# filled as the tutorial's table shows, and the same sheet with two cells mistyped.
TUTORIAL = {"E1#21": "b", "E1#25": "r; b", "E1#43": "Foires commerciales", "E1#44": "h"}
MISTYPED = {"E1#31": "info@", "E1#37": "LinkedIn"}


def tutorial_sheets(project: Project) -> None:
    for name, cells in (("me-E1", TUTORIAL), ("me-bad", {**TUTORIAL, **MISTYPED})):
        sheet = HERE / f"{name}.xlsx"
        project.write_coding_sheet("me", sheet, case="E1")
        wb = load_workbook(sheet)
        ws = wb["Coding"]
        for r in range(2, ws.max_row + 1):
            if ws.cell(r, 3).value in cells:
                ws.cell(r, 7).value = cells[ws.cell(r, 3).value]
        wb.save(sheet)


def decide(project: Project, path: Path) -> int:
    """Fill the adjudication sheet with the decision that reproduces the consensus coder."""
    project.write_adjudication_sheet("coder-a", "coder-b", path)
    consensus: dict[tuple[str, int, int], set[str]] = {}
    for coding in project.codings("consensus"):
        consensus.setdefault((coding.document, coding.start, coding.end), set()).add(coding.code)
    wb = load_workbook(path)
    ws = wb["Adjudication"]
    column = {cell.value: cell.column for cell in ws[1]}
    a_column = next(c for name, c in column.items() if str(name).startswith("A: "))
    b_column = next(c for name, c in column.items() if str(name).startswith("B: "))
    failures = 0
    for r in range(2, ws.max_row + 1):
        document, _, span = str(ws.cell(r, column["region"]).value).rpartition(":")
        start, end = (int(x) for x in span.split("-"))
        # the example's codings are whole segments, so each region is one segment
        only_a = {x.split(" ")[0] for x in (ws.cell(r, a_column).value or "").splitlines() if x}
        only_b = {x.split(" ")[0] for x in (ws.cell(r, b_column).value or "").splitlines() if x}
        agreed = {x for x in (ws.cell(r, column["agreed"]).value or "").split("; ") if x}
        wanted = consensus.get((document, start, end), set()) - agreed
        options = {"A": only_a, "B": only_b, "both": only_a | only_b, "neither": set()}
        choice = next((name for name, codes in options.items() if codes == wanted), "other")
        ws.cell(r, column["decision"]).value = choice
        if choice == "other":
            ws.cell(r, column["other codes"]).value = "; ".join(sorted(wanted))
            failures += not wanted
    wb.save(path)
    return failures


if __name__ == "__main__":
    sys.exit(main())
