"""Subtitle, OpenDocument and RTF readers, and the header-line turn layouts of detect_turns.

Every fixture under tests/fixtures/formats/ was written for these tests (invented text);
the real-world files are exercised in test_realfiles_transcripts.py.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from qda.errors import IngestError
from qda.ingest import RawTranscript, detect_turns, read_transcript
from qda.ingest.segment import split_sentences

FORMATS = Path(__file__).parent / "fixtures" / "formats"


def turns_of(raw: RawTranscript) -> list[tuple[str | None, str]]:
    """(speaker, text) of every turn, checking on the way that offsets cut clean text."""
    found = []
    for turn in raw.turns:
        piece = raw.text[turn.start:turn.end]
        assert piece == piece.strip() and piece, f"turn {turn} cuts {piece!r}"
        found.append((turn.speaker, piece))
    return found


def read(name: str) -> RawTranscript:
    return read_transcript(FORMATS / name)


# ----------------------------------------------------------------------------- WebVTT / SubRip


def test_french_vtt_with_voice_tags_names_with_commas_and_notes() -> None:
    raw = read("entretien_fr.vtt")
    assert turns_of(raw) == [
        ("Chercheuse", "Bonjour, vous pouvez vous présenter ?"),
        ("Dupont, Élise (relieuse)",
         "Oui. Je m’appelle Élise, je suis relieuse depuis douze ans. J’ai appris à l’école Estienne & en atelier."),
        ("Chercheuse", "D’accord. Et aujourd’hui ?"),
    ]
    # One "Speaker: text" paragraph per turn; NOTE block, cue ids and settings are gone.
    assert raw.text.split("\n\n")[0] == "Chercheuse: Bonjour, vous pouvez vous présenter ?"
    assert "NOTE" not in raw.text and "align" not in raw.text and "-->" not in raw.text
    assert [t.timestamp for t in raw.turns] == ["00:00:01.000", "00:00:05.000", "00:00:12.500"]
    assert raw.notes == ()


def test_teams_vtt_bom_crlf_guid_ids_and_two_voices_in_one_cue() -> None:
    raw = read("teams_en.vtt")
    assert raw.encoding == "utf-8-sig"
    assert turns_of(raw) == [
        ("Interviewer", "So how did the project start?"),
        ("Lee, Sam (Participant)", "It started with a grant, a small one. Then it grew."),
        ("Interviewer", "Really?"),
        ("Lee, Sam (Participant)", "Yes, really."),
    ]
    assert raw.turns[0].timestamp == "00:01:02.500"
    assert "\r" not in raw.text and "3f1c2a9e" not in raw.text


def test_zoom_vtt_name_prefixes() -> None:
    raw = read("zoom_names.vtt")
    # Most cues carry "Name:", so Mei Chen (one cue) is a speaker; the unlabelled cue
    # is a turn without speaker; "One point:" inside a cue is text.
    assert turns_of(raw) == [
        ("Ana Ruiz", "Welcome, everyone. The notes are at https://example.org/notes . Let's begin."),
        ("Tom O'Neill", "Thanks, Ana."),
        ("Mei Chen", "Hello!"),
        (None, "Sounds good."),
        ("Tom O'Neill", "One point: budgets are due Friday."),
    ]


def test_srt_crlf_tags_missing_blank_line_and_final_newline() -> None:
    raw = read("podcast.srt")
    assert turns_of(raw) == [
        ("Host", "Welcome to the show. Today we talk about local archives."),
        ("Guest", "Glad to be here. Archives matter."),
        ("Host", "Why?"),
    ]
    assert [t.timestamp for t in raw.turns] == ["00:00:02,250", "00:00:08,200", "00:00:12,500"]


def test_youtube_rolling_captions_are_deduplicated() -> None:
    raw = read("youtube_rolling.vtt")
    assert turns_of(raw) == [(None, "so we started in the garden")]
    assert raw.text == "so we started in the garden"
    assert raw.notes == ("3 repeated caption line(s) of rolling captions removed",)


def test_malformed_teams_timestamps_are_kept_as_written() -> None:
    raw = read("teams_old_timestamps.vtt")
    assert turns_of(raw) == [("Okafor, Ada", "Right."), ("Lindqvist, Jon", "Long answer here."),
                             ("Okafor, Ada", "Short question.")]
    assert [t.timestamp for t in raw.turns] == ["0:0:0.0", "0:0:-3.-150", "0:0:9.5"]
    assert raw.notes == ("3 cue(s) with malformed start times, kept as written",)


def test_speakerless_cues_split_on_teams_utterance_ids() -> None:
    raw = read("onedrive_no_speakers.vtt")
    assert turns_of(raw) == [
        (None, "Is it recording?"),
        (None, "Yes. So, as agreed, this study is about allotments."),
        (None, "I took mine in 2004."),
    ]


def test_podcast_dash_marks_start_turns() -> None:
    raw = read("podcast_dashes.vtt")
    assert turns_of(raw) == [
        (None, "Good evening and thanks for joining."),
        (None, "Pleasure, thank you for asking me."),
        (None, "So, you have been working on community gardens for years."),
    ]


def test_vtt_without_header_is_read_with_a_note() -> None:
    # Decision: cues are what matter; a missing "WEBVTT" line (often a renamed .srt)
    # is reported in the notes, not refused.
    raw = read("no_header.vtt")
    assert turns_of(raw) == [("Int", "First question."), ("Resp", "First answer.")]
    assert raw.notes == ("no WEBVTT first line; read as cues anyway",)


def test_vtt_without_cues_is_a_clear_error() -> None:
    with pytest.raises(IngestError) as info:
        read("not_captions.vtt")
    assert "not_captions.vtt" in info.value.message and "no subtitle cues" in info.value.message
    assert "-->" in str(info.value)  # says what a cue looks like


def test_empty_srt_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.srt"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty.srt: no subtitle cues found"):
        read_transcript(empty)


def test_subtitle_turns_segment_into_sentences() -> None:
    raw = read("teams_en.vtt")
    spans = split_sentences(raw.text, raw.turns, language="en")
    assert [(raw.text[s.start:s.end], s.speaker) for s in spans][:3] == [
        ("So how did the project start?", "Interviewer"),
        ("It started with a grant, a small one.", "Lee, Sam (Participant)"),
        ("Then it grew.", "Lee, Sam (Participant)"),
    ]


# ----------------------------------------------------------------------------- OpenDocument

_ODT_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
    xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    office:version="1.3">
  <office:body>
    <office:text>
      <text:sequence-decls/>
      <text:h text:outline-level="1">Entretien E4</text:h>
      <table:table table:name="Fiche"><table:table-row><table:table-cell>
        <text:p>Lieu : ne pas importer</text:p>
      </table:table-cell></table:table-row></table:table>
      <text:p>Chercheuse : Vous <text:span text:style-name="T1">travaillez</text:span> ici\
<text:s text:c="2"/>depuis quand ?<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation>\
<text:note-body><text:p>Note de bas de page.</text:p></text:note-body></text:note></text:p>
      <text:p>Répondant : Depuis 2015.<text:line-break/>Avant,<text:tab/>j’étais à Lyon.</text:p>
      <text:list><text:list-item><text:p>Chercheuse : Et ensuite ?</text:p></text:list-item></text:list>
      <text:p>Répondant : On verra.</text:p>
    </office:text>
  </office:body>
</office:document-content>
"""


def make_odt(path: Path, content: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content)
    return path


def test_odt_paragraphs_spaces_tabs_line_breaks(tmp_path: Path) -> None:
    raw = read_transcript(make_odt(tmp_path / "E4.odt", _ODT_CONTENT))
    assert raw.encoding == "odt"
    assert raw.text.split("\n")[0] == "Entretien E4"
    assert "ne pas importer" not in raw.text and "Note de bas" not in raw.text
    assert turns_of(raw) == [
        (None, "Entretien E4"),
        ("Chercheuse", "Vous travaillez ici  depuis quand ?"),
        ("Répondant", "Depuis 2015.\nAvant,\tj’étais à Lyon."),
        ("Chercheuse", "Et ensuite ?"),
        ("Répondant", "On verra."),
    ]


def test_corrupt_odt_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.odt"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IngestError) as info:
        read_transcript(broken)
    assert "broken.odt" in info.value.message and "damaged" in info.value.message
    assert "LibreOffice" in str(info.value)


def test_odt_with_bad_xml_or_no_text_body(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="bad.odt: a damaged .odt file"):
        read_transcript(make_odt(tmp_path / "bad.odt", "<office:document-content"))
    sheet = _ODT_CONTENT.replace("office:text>", "office:spreadsheet>")
    with pytest.raises(IngestError, match="sheet.odt: not a text document"):
        read_transcript(make_odt(tmp_path / "sheet.odt", sheet))
    nothing = tmp_path / "nothing.odt"
    with zipfile.ZipFile(nothing, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    with pytest.raises(IngestError, match="no content.xml"):
        read_transcript(nothing)


def test_odt_refuses_entity_expansion(tmp_path: Path) -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
            '&b;</office:document-content>')
    with pytest.raises(IngestError, match="bomb.odt"):
        read_transcript(make_odt(tmp_path / "bomb.odt", bomb))


# ----------------------------------------------------------------------------- RTF


def test_rtf_escapes_groups_and_unicode() -> None:
    raw = read("entretien_fr.rtf")
    assert raw.encoding == "rtf"
    # The font and colour tables, the generator, \info and the page header are not text.
    for hidden in ("Calibri", "Riched20", "Entretien E9", "confidentiel", "HYPERLINK", "?p"):
        assert hidden not in raw.text
    assert turns_of(raw) == [
        ("Intervieweur", "Vous êtes arrivé quand ?"),
        ("Répondante", "En 2019, à Lyon.\nC'était l'été, l’atelier."),
        ("Intervieweur", "Et le site ?"),
        ("Répondante", "Oui, bien sûr \U0001F600"),
    ]


def test_not_rtf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "notes.rtf"
    fake.write_text("Intervieweur : bonjour\n")
    with pytest.raises(IngestError, match=r"notes.rtf: not an RTF file"):
        read_transcript(fake)


def test_rtf_code_page_and_truncation_are_noted(tmp_path: Path) -> None:
    path = tmp_path / "ru.rtf"
    path.write_bytes(b"{\\rtf1\\ansi\\ansicpg1251 Q: \\'cf\\'f0\\'e8\\'e2\\'e5\\'f2?\\par R: \\'c4\\'e0.\\par")
    raw = read_transcript(path)
    assert turns_of(raw) == [("Q", "Привет?"), ("R", "Да.")]
    assert raw.notes == ("RTF code page cp1251", "unbalanced braces (the file may be truncated)")


# ----------------------------------------------------------------------------- detect_turns layouts


def test_bracketed_label_lines_with_time_ranges() -> None:
    text = ("Entretien 03\n\n[Chercheur] (0:01 - 0:11)\nOn commence.\n1 - Votre journée ?\n\n"
            "[Interviewe] (0:11 - 2:05)\nLe matin, l'atelier.\n\nPuis le chantier.\n"
            "[Chercheur] (2:05– 2:09)\nD'accord.\n")
    turns = detect_turns(text)
    assert [(t.speaker, t.timestamp, text[t.start:t.end]) for t in turns] == [
        (None, None, "Entretien 03"),
        ("Chercheur", "0:01", "On commence.\n1 - Votre journée ?"),
        ("Interviewe", "0:11", "Le matin, l'atelier.\n\nPuis le chantier."),
        ("Chercheur", "2:05", "D'accord."),
    ]


def test_french_layout_in_docx(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    for paragraph in ["Entretien 05", "", "[Chercheur] (0:00 - 0:20)", "Première question ?",
                      "[Interviewe] (0:20 - 1:02)", "Une réponse,", "sur deux paragraphes."]:
        document.add_paragraph(paragraph)
    path = tmp_path / "E5.docx"
    document.save(path)
    raw = read_transcript(path)
    assert turns_of(raw) == [(None, "Entretien 05"), ("Chercheur", "Première question ?"),
                             ("Interviewe", "Une réponse,\nsur deux paragraphes.")]
    assert [t.timestamp for t in raw.turns] == [None, "0:00", "0:20"]


def test_zoom_txt_header_lines() -> None:
    text = ("[Ana Ruiz] 10:01:02\nHello there.\n\n[Tom Li] 10:01:05\nHi!\n\n"
            "[Tom Li] 10:01:09\nSecond block.\n")
    turns = detect_turns(text)
    assert [(t.speaker, t.timestamp, text[t.start:t.end]) for t in turns] == [
        ("Ana Ruiz", "10:01:02", "Hello there."),
        ("Tom Li", "10:01:05", "Hi!"),
        ("Tom Li", "10:01:09", "Second block."),
    ]


def test_otter_header_lines() -> None:
    text = "Jane Doe  0:03\nWe can start.\n\nSam Roe  0:09\nSure.\n\nJane Doe  0:15\nGood.\n"
    assert [(t.speaker, t.timestamp) for t in detect_turns(text)] == [
        ("Jane Doe", "0:03"), ("Sam Roe", "0:09"), ("Jane Doe", "0:15")]


def test_bracketed_annotations_are_not_speakers() -> None:
    text = "Q: Alors ?\n[Rires]\nR: Oui.\n[Rires]\nQ: Bon.\n"
    turns = detect_turns(text)
    assert [(t.speaker, text[t.start:t.end]) for t in turns] == [
        ("Q", "Alors ?\n[Rires]"), ("R", "Oui.\n[Rires]"), ("Q", "Bon.")]


def test_nvivo_tsv_rows() -> None:
    text = ("Timespan\tSpeaker\tContent\n00:00:04\tAna Ruiz\tHello.---Welcome.\n"
            "00:00:08.5\tTom Li\tHi.\n00:00:12\t\tUnattributed words.\n")
    turns = detect_turns(text)
    assert [(t.speaker, t.timestamp, text[t.start:t.end]) for t in turns] == [
        ("Ana Ruiz", "00:00:04", "Hello.---Welcome."),
        ("Tom Li", "00:00:08.5", "Hi."),
        (None, "00:00:12", "Unattributed words."),
    ]


def test_timestamped_lines_without_speakers() -> None:
    text = "00:00:00 Episode one.\n\n00:00:09 Hello and\n\n00:00:45 welcome.\n"
    turns = detect_turns(text)
    assert [(t.speaker, t.timestamp, text[t.start:t.end]) for t in turns] == [
        (None, "00:00:00", "Episode one."), (None, "00:00:09", "Hello and"), (None, "00:00:45", "welcome.")]
    # With speaker labels, timestamps stay inside the turns.
    labelled = "Q: First.\n00:00:09 more words\nR: Answer.\n00:00:20 and more\n"
    assert [t.speaker for t in detect_turns(labelled)] == ["Q", "R"]


def test_readers_are_registered() -> None:
    from qda.ingest import READERS

    assert {".vtt", ".srt", ".odt", ".rtf", ".txt", ".docx", ".pdf"} <= set(READERS)


def _openpyxl_rows(path: Path, sheet: str | None = None) -> list[list[object]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        chosen = wb[sheet] if sheet else wb["Coding"] if "Coding" in wb.sheetnames else wb.worksheets[0]
        return [list(row) for row in chosen.iter_rows(values_only=True)]
    finally:
        wb.close()


def _shared_strings_copy(source: Path, target: Path) -> None:
    """Rewrite a workbook's inline strings as shared strings with a rich-text entry, as Excel saves them."""
    import re
    from xml.sax.saxutils import escape

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        strings: list[str] = []
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                def shared(m: re.Match[str]) -> str:
                    strings.append(m.group(2))
                    return f'<c r="{m.group(1)}" t="s"><v>{len(strings) - 1}</v></c>'
                data = re.sub(r'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t>([^<]*)</t></is></c>',
                              shared, data.decode()).encode()
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                    b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                                    b"</Types>")
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.'
                                    b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                    b'Target="sharedStrings.xml"/></Relationships>')
            zout.writestr(item, data)
        items = "".join(f"<si><t>{s}</t></si>" for s in strings[:-1])
        items += f"<si><r><t>{strings[-1][:2]}</t></r><r><t>{strings[-1][2:]}</t></r></si>"  # rich text runs
        zout.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                      f'main" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>')
        assert escape  # strings above are already escaped as found in the sheet XML


def test_fast_xlsx_reader_gives_openpyxl_rows(tmp_path: Path) -> None:
    """read_table's own xlsx reader returns exactly what openpyxl (read-only) returns, or defers to it."""
    import datetime

    from openpyxl import Workbook

    from qda.ingest import read_table
    from qda.ingest.tables import _xlsx_rows

    wb = Workbook()
    ws = wb.active
    ws.title = "Other"
    coding = wb.create_sheet("Coding")
    coding.append(["case", "segment", "n", "x", "flag", "", None, "memo"])
    coding.append(["A", "A1#1", 3, 2.5, True, "  spaced  ", None, "é & <b>"])
    coding.append([None, "A1#2", -7, 1e-12, False, "=1+1", 0, ""])
    coding["C6"] = 12  # rows 4-5 are missing, cells in between are empty
    coding["J6"] = "beyond"
    ws.append(["only", "sheet"])
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    dated = tmp_path / "dated.xlsx"
    coding["B7"] = datetime.date(2024, 5, 1)
    wb.save(dated)
    shared = tmp_path / "shared.xlsx"
    _shared_strings_copy(plain, shared)
    for path in (plain, shared):
        for sheet in (None, "Coding", "Other"):
            fast = _xlsx_rows(path, sheet)
            assert fast is not None, (path.name, sheet)
            assert fast == _openpyxl_rows(path, sheet), (path.name, sheet)
    assert _xlsx_rows(shared, "Coding")[1][7] == "é & <b>"
    assert _xlsx_rows(dated, "Coding") is None  # a date: openpyxl reads it
    assert read_table(dated) == _openpyxl_rows(dated)
    assert _xlsx_rows(plain, "Nope") is None


def test_fast_xlsx_reader_decodes_texts_like_openpyxl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast reader decodes every cell text in one call: character references, carriage
    returns, a text holding its private-use separator and a control character XML forbids
    give what openpyxl gives (or the file is left to it)."""
    import qda.ingest.tables
    from qda.coding.sheets import _package
    from qda.ingest import read_table, read_table_columns
    from qda.ingest.tables import _xlsx_rows

    def not_the_xml_parser(*args: object) -> None:
        raise AssertionError("the fast reader gave up")

    monkeypatch.setattr(qda.ingest.tables, "_sheet_rows", not_the_xml_parser)

    texts = ["caf&#233; &amp; th&#xE9;", "ligne&#13;\nsuite", "a\r\nb", "priv\ue000\u00e9", "plain", "&lt;b&gt;",
             "", "  espaces  "]
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
        f'<c r="B{r}"><v>{r}</v></c><c r="C{r}" t="inlineStr"><is><t>x{r}</t></is></c></row>'
        for r, text in enumerate(texts, start=2))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/'
             f'spreadsheetml/2006/main"><dimension ref="A1:C{len(texts) + 1}"/><sheetData><row r="1">'
             '<c r="A1" t="inlineStr"><is><t>text</t></is></c><c r="B1" t="inlineStr"><is><t>n</t></is></c>'
             f'<c r="C1" t="inlineStr"><is><t>other</t></is></c></row>{rows}</sheetData></worksheet>')
    path = tmp_path / "texts.xlsx"
    _package(path, [("Coding", [sheet])], "test", "'Coding'!$A$1:$C$2")
    expected = _openpyxl_rows(path)
    assert [r[0] for r in expected[1:]] == ["café & thé", "ligne\r\nsuite", "a\nb", "priv\ue000é", "plain", "<b>",
                                            "", "  espaces  "]
    assert _xlsx_rows(path, None) == expected
    # with columns named, the others are not read (but in the header row)
    assert read_table(path, columns=("text", "n")) == [expected[0], *([a, b, None] for a, b, _ in expected[1:])]
    header, columns = read_table_columns(path, columns=("text", "n")) or ([], [])
    assert header == ["text", "n", "other"] and columns == [[r[0] for r in expected[1:]], [r[1] for r in expected[1:]],
                                                            [None] * len(texts)]
    # a character XML forbids, raw in the sheet: read as it is where it has no reference (as before)
    raw = tmp_path / "raw.xlsx"
    with zipfile.ZipFile(path) as archive:  # qda's writer drops such characters: put one in
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b"plain", b"pl\x01ain")
    with zipfile.ZipFile(raw, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    found = _xlsx_rows(raw, None)
    assert found is not None and found[5][0] == "pl\x01ain" and found[1][0] == "café & thé"


def test_table_columns_of_a_ragged_csv(tmp_path: Path) -> None:
    """Column by column, a CSV keeps its header row as it is and pads short rows with None."""
    from qda.ingest import read_table_columns

    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2,3\n4\n", encoding="utf-8")
    assert read_table_columns(path) == (["a", "b"], [["1", "4"], ["2", None], ["3", None]])
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert read_table_columns(empty) is None
