"""Coding by named coders: sheets, adjudication and dictionary auto-coding."""

from qda.coding.sheets import (AdjudicationResult, CodeResolver, Decision, SheetImport, adjudicate, check_coder_name,
                               import_sheet, record_adjudication, segment_disagreements, write_adjudication_sheet,
                               write_sheet)

__all__ = ["AdjudicationResult", "CodeResolver", "Decision", "SheetImport", "adjudicate", "check_coder_name",
           "import_sheet", "record_adjudication", "segment_disagreements", "write_adjudication_sheet", "write_sheet"]
