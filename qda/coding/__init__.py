"""Coding by named coders: sheets, adjudication and dictionary auto-coding."""

from qda.coding.sheets import (
    AdjudicationResult,
    CodeResolver,
    Decision,
    SheetImport,
    check_coder_name,
    compare_in_store,
    plan_adjudication,
    plan_decisions,
    plan_sheet,
    sheet_segments,
    write_adjudication_sheet,
    write_sheet,
)

__all__ = ["AdjudicationResult", "CodeResolver", "Decision", "SheetImport", "check_coder_name", "plan_adjudication",
           "plan_decisions", "plan_sheet", "compare_in_store", "sheet_segments", "write_adjudication_sheet",
           "write_sheet"]
