"""Hostile or odd inputs end in a located QdaError or a usage error, never a crash.

Each test reproduces one failure of issue 11 ("Why"): recursive and exponential YAML
aliases, folders and pipes given as files, a file named ``-dash.txt``, zip bombs in
xlsx / docx / odt, control characters and binary tails in transcripts.
"""

from __future__ import annotations

import io
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

import qda.ingest.readers as readers
import qda.ingest.tables as tables
from qda.codebook import load_codebook
from qda.errors import CodebookError, IngestError, InteropError
from qda.ingest import check_zip, read_table, read_transcript

from conftest import CODEBOOK, EXAMPLE, FIXTURES, run, run_json, snapshot

BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{x}: &{x} [{','.join(['*' + p] * 9)}]\n" for p, x in zip("abcdefgh", "bcdefghi"))
)


# ----------------------------------------------------------------------------- YAML


@pytest.mark.parametrize("text, line", [("a: &x [*x]\n", 1), (BILLION_LAUGHS, 1)])
def test_yaml_aliases_are_refused_quickly_with_file_and_line(runner, tmp_path: Path, text: str,
                                                              line: int) -> None:
    # Before: RecursionError / 70 s then MemoryError.
    assert len(BILLION_LAUGHS.encode()) < 500
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    assert time.perf_counter() - start < 1.0
    assert f"{path}:{line}" in str(info.value)
    assert "aliases are not allowed" in str(info.value)
    result = run(runner, "codebook", "validate", path, code=1)
    assert "internal error" not in result.output
    assert "evil.yaml:1" in result.output


def test_every_alias_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "cb.yaml"
    path.write_text("name: x\ncodes:\n  - &c {id: a, label: A}\n  - *c\n", encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    locations = [p.location for p in info.value.problems]
    assert locations == [f"{path}:3", f"{path}:4"]


def test_a_codebook_without_aliases_still_loads() -> None:
    assert load_codebook(CODEBOOK).codes


# ----------------------------------------------------------------------------- paths


def test_codebook_load_of_a_folder_says_so(runner, small_project: Path, tmp_path: Path) -> None:
    # Before: internal error: IsADirectoryError.
    result = run(runner, "-p", small_project, "codebook", "load", tmp_path, code=1)
    assert "is a folder, not a codebook file" in result.output
    assert "internal error" not in result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_pipes_are_refused_instead_of_read_forever(runner, small_project: Path, tmp_path: Path) -> None:
    for name in ("pipe.txt", "pipe.yaml", "pipe.xlsx", "pipe.docx"):
        os.mkfifo(tmp_path / name)
    with pytest.raises(IngestError, match="not a regular file"):
        read_transcript(tmp_path / "pipe.txt")
    with pytest.raises(IngestError, match="not a regular file"):
        read_transcript(tmp_path / "pipe.docx")
    with pytest.raises(IngestError, match="not a regular file"):
        read_table(tmp_path / "pipe.xlsx")
    with pytest.raises(CodebookError, match="not a regular file"):
        load_codebook(tmp_path / "pipe.yaml")
    result = run(runner, "-p", small_project, "code", "import", tmp_path / "pipe.xlsx",
                 "--coder", "x", code=1)
    assert "not a regular file" in result.output


@pytest.mark.parametrize("args", [
    ("import", "transcripts", "{dir}"),
    ("import", "cases", "{dir}.csv"),
    ("code", "import", "{dir}.xlsx", "--coder", "x"),
])
def test_folders_given_as_files_get_a_message(runner, small_project: Path, tmp_path: Path,
                                              args: tuple[str, ...]) -> None:
    folder = tmp_path / "folder"
    for suffix in ("", ".csv", ".xlsx"):
        (tmp_path / f"folder{suffix}").mkdir()
    result = run(runner, "-p", small_project, *[a.format(dir=folder) for a in args], code=1)
    assert "is a folder" in result.output
    assert "internal error" not in result.output


def test_a_dash_file_name_is_a_usage_error_that_suggests_double_dash(runner, small_project: Path,
                                                                      tmp_path: Path,
                                                                      monkeypatch) -> None:
    # Before: internal error: NoSuchOption.
    monkeypatch.chdir(tmp_path)
    shutil.copy(FIXTURES / "A1.txt", tmp_path / "-dash.txt")
    result = run(runner, "-p", small_project, "import", "transcripts", "-dash.txt", code=2)
    assert "internal error" not in result.output
    assert "put -- before" in result.output
    assert "./-dash.txt" in result.output
    run(runner, "-p", small_project, "import", "transcripts", "--", "-dash.txt")


# ----------------------------------------------------------------------------- zip bombs


def _with_bomb(source: Path, target: Path, size: int) -> Path:
    """A copy of a real zip document with one extra entry of ``size`` zero bytes."""
    shutil.copy(source, target)
    with zipfile.ZipFile(target, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/bomb.xml" if target.suffix == ".xlsx" else "bomb.xml", b"\0" * size)
    return target


@pytest.fixture
def office_files(tmp_path: Path) -> dict[str, Path]:
    """A genuine xlsx (the example coding sheet), docx and odt."""
    import docx

    document = docx.Document()
    document.add_paragraph("Q : Bonjour.")
    document.add_paragraph("R : Bonjour, merci.")
    document.save(tmp_path / "real.docx")
    with zipfile.ZipFile(tmp_path / "real.odt", "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text",
                         compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", '<office:document-content xmlns:office='
                         '"urn:oasis:names:tc:opendocument:xmlns:office:1.0"><office:body>'
                         '<office:text/></office:body></office:document-content>')
    return {".xlsx": EXAMPLE / "coder-a.xlsx", ".docx": tmp_path / "real.docx",
            ".odt": tmp_path / "real.odt"}


@pytest.fixture
def small_limits(monkeypatch) -> None:
    """Make the bomb rule apply from 2 MB so that the test files stay small."""
    monkeypatch.setattr(readers, "_BOMB_MIN_BYTES", 2 * 1024 ** 2)


def test_zip_bombs_are_refused_before_the_reader_opens_them(small_limits, office_files,
                                                            tmp_path: Path) -> None:
    # Before: a 3.2 MB sheet inflating to 3.2 GB was read for 44 s and imported.
    for suffix, source in office_files.items():
        bomb = _with_bomb(source, tmp_path / f"bomb{suffix}", 4 * 1024 ** 2)
        with pytest.raises(IngestError, match="zip bomb") as info:
            read_table(bomb) if suffix == ".xlsx" else read_transcript(bomb)
        assert info.value.problems[0].location.endswith("bomb.xml")


def test_sheet_bomb_leaves_the_project_unchanged(runner, small_limits, study_project: Path,
                                                  tmp_path: Path) -> None:
    bomb = _with_bomb(EXAMPLE / "coder-a.xlsx", tmp_path / "bomb.xlsx", 4 * 1024 ** 2)
    before = snapshot(study_project)
    result = run(runner, "-p", study_project, "code", "import", bomb, "--coder", "coder-a", code=1)
    assert "zip bomb" in result.output
    assert snapshot(study_project) == before


def test_zip_limits_on_entries_and_total_size(tmp_path: Path) -> None:
    path = tmp_path / "many.docx"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(30):
            archive.writestr(f"e{i}.xml", b"x" * 100)
    with pytest.raises(IngestError, match="30 entries"):
        check_zip(path, max_entries=20)
    with pytest.raises(IngestError, match="once uncompressed"):
        check_zip(path, max_bytes=1000)
    # The helper serves REFI-QDA too: same checks, its own error class and limits.
    with pytest.raises(InteropError, match="30 entries"):
        check_zip(path, max_entries=20, error=InteropError)
    assert len(check_zip(path) or []) == 30
    assert check_zip(FIXTURES / "A1.txt") is None  # not a zip: the reader decides


def test_real_office_files_pass_the_zip_check(office_files) -> None:
    for path in office_files.values():
        assert check_zip(path)


def test_declared_sizes_bound_what_zipfile_inflates() -> None:
    # Why checking declared sizes suffices: zipfile stops at the declared size.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a", b"\0" * 100_000)
    raw = bytearray(buffer.getvalue())
    # Lie in the central directory: declare 10 bytes instead of 100,000.
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24:cd + 28] = (10).to_bytes(4, "little")
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        with pytest.raises(zipfile.BadZipFile):
            archive.read("a")  # truncated at 10 bytes, then the CRC fails


# ----------------------------------------------------------------------------- text at import


def test_control_characters_are_removed_at_import_and_reported(runner, small_project: Path,
                                                               tmp_path: Path) -> None:
    # Before: accepted, then `code sheet` died with IllegalCharacterError.
    path = tmp_path / "E9.txt"
    path.write_bytes("Q : Bonjour\x1b[0m, ça va ?\x07\nR : Oui.\x0cMerci.\n".encode())
    raw = read_transcript(path)
    assert "\x1b" not in raw.text and "\x07" not in raw.text and "\x0c" not in raw.text
    assert "Oui.\nMerci." in raw.text
    assert any("2 control character(s) removed" in note for note in raw.notes)
    result = run(runner, "-p", small_project, "import", "transcripts", path, "--format", "json")
    assert "control character(s) removed" in result.stdout
    run(runner, "-p", small_project, "code", "sheet", "--coder", "x", "-o", tmp_path / "x.xlsx")


@pytest.mark.parametrize("name, content", [
    ("E8.srt", "1\n00:00:01,000 --> 00:00:02,000\nBonjour\x1b ici\n"),
    ("E8.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Q>Bonjour\x1b ici\n"),
    ("E8.rtf", "{\\rtf1\\ansi Bonjour\x1b ici\\par}"),
])
def test_control_characters_in_other_text_formats_are_removed(tmp_path: Path, name: str,
                                                              content: str) -> None:
    # XML formats (docx, odt) cannot hold these characters at all; text formats can.
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    raw = read_transcript(path)
    assert "Bonjour ici" in raw.text and "\x1b" not in raw.text
    assert any("1 control character(s) removed" in note for note in raw.notes)


def test_a_transcript_that_turns_binary_after_4_kb_is_refused(runner, small_project: Path,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "E7.txt"
    path.write_bytes(b"Q : Bonjour.\n" * 400 + bytes(range(256)) * 20)
    before = snapshot(small_project)
    with pytest.raises(IngestError, match="turns into binary data at byte 5,200"):
        read_transcript(path)
    result = run(runner, "-p", small_project, "import", "transcripts", path, code=1)
    assert "not a text file" in result.output
    assert snapshot(small_project) == before
    # Control bytes without NUL are binary too when there are many of them.
    path.write_bytes(b"Q : Bonjour.\n" * 400 + bytes(range(1, 32)) * 100)
    with pytest.raises(IngestError, match="control characters"):
        read_transcript(path)


# ----------------------------------------------------------------------------- found by the fuzz tests


def _corrupt_entry(source: Path, target: Path, entry: str) -> Path:
    """A copy of a zip with one entry's compressed bytes damaged (the CRC no longer matches)."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo(entry)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 2, start + min(info.compress_size, 40)):
        data[i] ^= 0x5A
    target.write_bytes(bytes(data))
    return target


def test_damaged_office_files_are_named_not_crashes(office_files, tmp_path: Path) -> None:
    cases = {".xlsx": "xl/worksheets/sheet1.xml", ".docx": "word/document.xml", ".odt": "content.xml"}
    for suffix, entry in cases.items():
        damaged = _corrupt_entry(office_files[suffix], tmp_path / f"damaged{suffix}", entry)
        with pytest.raises(IngestError, match=f"damaged{suffix}"):
            read_table(damaged) if suffix == ".xlsx" else read_transcript(damaged)
    # XML that is not XML inside a sound docx (lxml's XMLSyntaxError before).
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(office_files[".docx"]) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            target.writestr(info, b"=?xml" + body[2:] if info.filename == "word/document.xml" else body)
    with pytest.raises(IngestError, match="broken.docx"):
        read_transcript(broken)


def test_control_character_in_a_codebook_is_located(tmp_path: Path) -> None:
    # yaml's reader refused it while the loader was built, outside the error handling.
    path = tmp_path / "cb.yaml"
    path.write_text("name: x\ncodes:\n  - id: a\x03\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="cb.yaml:3") as info:
        load_codebook(path)
    assert "U+0003" in str(info.value)


def test_a_pdf_whose_xref_table_lies_is_named(tmp_path: Path) -> None:
    # pypdf's LimitReachedError (an xref size beyond the file) escaped before.
    from test_pdf import minimal_pdf

    data = minimal_pdf(["Q : Bonjour.", "R : Bonjour, merci."])
    at = data.rfind(b"xref\n0 ") + len(b"xref\n0 ")
    end = data.index(b"\n", at)
    path = tmp_path / "lying.pdf"
    path.write_bytes(data[:at] + b"58" + data[end:])
    with pytest.raises(IngestError, match="lying.pdf"):
        read_transcript(path)


# ----------------------------------------------------------------------------- declared sizes (issue 20)


def _claiming_sheet(tmp_path: Path, claim: str) -> Path:
    """A two-row xlsx whose sheet declares the size ``claim`` (e.g. the whole grid)."""
    import re

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Coding"
    sheet.append(["document", "segment", "code"])
    sheet.append(["E1", "E1#1", "a"])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    claiming = tmp_path / "claiming.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(claiming, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{claim}"'.encode(), data)
            out.writestr(item, data)
    return claiming


@pytest.mark.parametrize("reader", ["fast", "xml", "openpyxl"])
def test_a_sheet_claiming_the_whole_grid_reads_only_its_cells(tmp_path: Path, monkeypatch, reader: str) -> None:
    # Before: the fast reader allocated a list per declared row and column (A1:XFD1048576:
    # 16,384 x 1,048,576 cells, 3.8 GB) for a file of a few KB.
    path = _claiming_sheet(tmp_path, "A1:XFD1048576")
    assert path.stat().st_size < 10_000
    if reader != "fast":
        def not_simple(*args: object, **kwargs: object) -> None:
            raise tables._NotSimple("forced")

        monkeypatch.setattr(tables, "_scan_columns", not_simple)
    if reader == "openpyxl":
        monkeypatch.setattr(tables, "_xlsx_table", lambda *args, **kwargs: None)
    rows = read_table(path)
    assert [row[:3] for row in rows] == [["document", "segment", "code"], ["E1", "E1#1", "a"]]
    assert len(rows) == 2 and max(map(len, rows)) == 3


# ----------------------------------------------------------------------------- odd transcripts (issue 20)

SPEECH = ("Intervieweur : Bonjour, pouvez-vous présenter votre entreprise ?\n"
          "Répondant : Oui, nous vendons des capteurs.\n")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_as_text_not_called_binary(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "notepad.txt"
    path.write_bytes(SPEECH.encode(encoding))  # Python's utf-16-le/-be codecs write no BOM
    assert not path.read_bytes().startswith((b"\xff\xfe", b"\xfe\xff"))
    raw = read_transcript(path)
    assert raw.encoding == encoding
    assert [t.speaker for t in raw.turns] == ["Intervieweur", "Répondant"]
    assert raw.text[raw.turns[1].start:raw.turns[1].end] == "Oui, nous vendons des capteurs."


def test_binary_data_is_still_refused_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "photo.txt"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(IngestError, match="not a text file"):
        read_transcript(path)


def test_a_transcript_holding_only_speaker_labels_is_refused_with_its_file(runner, small_project: Path,
                                                                          tmp_path: Path) -> None:
    path = tmp_path / "E9.txt"
    path.write_text("Intervieweur :\nRépondant :\n", encoding="utf-8")
    before = snapshot(small_project)
    result = run(runner, "-p", small_project, "import", "transcripts", path, code=1)
    assert f"{path}: the transcript holds no speech, only speaker labels" in result.output
    assert snapshot(small_project) == before


def test_nfc_and_nfd_file_names_are_one_document(runner, small_project: Path, tmp_path: Path) -> None:
    import json
    import unicodedata

    composed, decomposed = (unicodedata.normalize(form, "Entretien été") for form in ("NFC", "NFD"))
    first, second = tmp_path / "mac", tmp_path / "win"
    first.mkdir()
    second.mkdir()
    (first / f"{decomposed}.txt").write_text(SPEECH, encoding="utf-8")
    (second / f"{composed}.txt").write_text(SPEECH, encoding="utf-8")
    result = run(runner, "-p", small_project, "import", "transcripts", first / f"{decomposed}.txt",
                 second / f"{composed}.txt", code=1)
    assert "also comes from" in result.output
    run(runner, "-p", small_project, "import", "transcripts", first / f"{decomposed}.txt")
    run(runner, "-p", small_project, "import", "transcripts", second / f"{composed}.txt")
    status = json.loads(run(runner, "-p", small_project, "status", "--format", "json").output)
    assert status["documents"] == 3  # A1, B1 and the interview, once


def test_a_yaml_codebook_nested_20000_deep_is_located_not_a_recursion_error(runner, tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: deep\ncodes:\n  - id: a\n    label: A\n    definition: " + "[" * 20_000 + "]" * 20_000
                    + "\n", encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    assert info.value.message == f"{path}:5: nested more than 100 levels deep"
    result = run(runner, "codebook", "validate", path, code=1)
    assert "internal error" not in result.output and "deep.yaml:5" in result.output


def test_a_csv_cell_over_the_csv_limit_is_a_located_error(runner, small_project: Path, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text("case,group\nA1,entry\nB1," + "x" * 140_000 + "\n", encoding="utf-8")
    before = snapshot(small_project)
    result = run(runner, "-p", small_project, "import", "cases", path, code=1)
    assert f"{path}:3: cannot read this CSV line" in result.output and "internal error" not in result.output
    assert snapshot(small_project) == before


def test_code_colours_are_colours_not_css(tmp_path: Path) -> None:
    # Before: a codebook colour 'red;position:fixed;...' went into the workspace's style attribute.
    path = tmp_path / "colours.yaml"
    path.write_text("name: colours\nlanguages: [en]\ncodes:\n"
                    "  - {id: a, label: A, color: 'red;position:fixed;top:0;left:0;width:100%'}\n"
                    "  - {id: b, label: B, color: '#0072B2'}\n"
                    "  - {id: c, label: C, color: teal}\n"
                    "  - {id: d, label: D, color: reddish}\n", encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 2
    assert f"{path}:4" in problems[0] and "is not a colour (use #rrggbb" in problems[0]
    assert f"{path}:7" in problems[1] and "'reddish' is not a CSS colour name" in problems[1]


# ----------------------------------------------------------------------------- runaway regexes (issue 20)

RUNAWAY = r"(?:a|a){30}c"  # tries 2^30 ways through a run of a's before failing


@pytest.fixture
def runaway_project(small_project: Path, tmp_path: Path, runner) -> Path:
    path = tmp_path / "C1.txt"
    path.write_text("Intervieweur : Et ensuite ?\nRépondant : " + "a" * 80 + " et voilà.\n", encoding="utf-8")
    run(runner, "-p", small_project, "import", "transcripts", path)
    return small_project


def test_a_runaway_search_regex_stops_at_the_time_limit_with_a_message(runner, runaway_project: Path,
                                                                       monkeypatch) -> None:
    # Before: re backtracked for hours (and froze qda serve, holding the interpreter lock).
    monkeypatch.setenv("QDA_REGEX_TIMEOUT", "0.5")
    started = time.monotonic()
    result = run(runner, "-p", runaway_project, "search", RUNAWAY, "--mode", "regex", code=1)
    assert time.monotonic() - started < 30
    assert f"the regular expression '{RUNAWAY}' took more than 0.5 s and was stopped" in result.output
    assert "QDA_REGEX_TIMEOUT" in result.output
    hits = run_json(runner, "-p", runaway_project, "search", "a{80}", "--mode", "regex")
    assert len(hits["hits"]) == 1  # an ordinary pattern still finds its passage


def test_a_runaway_codebook_regex_stops_auto_coding_and_changes_nothing(runner, runaway_project: Path,
                                                                       tmp_path: Path, monkeypatch) -> None:
    book = tmp_path / "runaway.yaml"
    book.write_text("name: runaway\nlanguages: [fr]\ncodes:\n"
                    f"  - id: z\n    label: Z\n    patterns:\n      - regex: '{RUNAWAY}'\n", encoding="utf-8")
    run(runner, "-p", runaway_project, "codebook", "load", book)
    monkeypatch.setenv("QDA_REGEX_TIMEOUT", "0.5")
    before = snapshot(runaway_project)
    result = run(runner, "-p", runaway_project, "code", "auto", code=1)
    assert f"the regex pattern '{RUNAWAY}' of code 'z' took more than 0.5 s" in result.output
    assert snapshot(runaway_project) == before
