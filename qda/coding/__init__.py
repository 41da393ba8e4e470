"""Coding by named coders: sheets, adjudication and dictionary auto-coding."""

from qda.coding.sheets import (AdjudicationResult, CodeResolver, SheetImport, adjudicate, check_coder_name,
                               import_sheet, write_adjudication_sheet, write_sheet)

__all__ = ["AdjudicationResult", "CodeResolver", "SheetImport", "adjudicate", "check_coder_name", "import_sheet",
           "write_adjudication_sheet", "write_sheet"]
