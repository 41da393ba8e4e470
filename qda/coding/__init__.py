"""Coding by named coders: sheets, adjudication and dictionary auto-coding."""

from qda.coding.sheets import (
    AdjudicationResult,
    CodeResolver,
    SheetImport,
    check_coder_name,
    plan_adjudication,
    plan_sheet,
    sheet_segments,
    write_adjudication_sheet,
    write_sheet,
)

__all__ = ["AdjudicationResult", "CodeResolver", "SheetImport", "check_coder_name", "plan_adjudication", "plan_sheet",
           "sheet_segments", "write_adjudication_sheet", "write_sheet"]
