"""How the example's coding sheets were filled (maintainer tool, not part of the demo).

The coders' decisions are kept as quotes in coding-notes-*.csv (case, quote, and the
codes each coder applied to the sentence holding the quote). This script writes a blank
sheet per coder with ``qda code sheet`` on a scratch project, puts each coder's codes
on the row whose segment contains the quote, and saves the sheets next to this file.
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
        project.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
