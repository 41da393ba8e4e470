"""Fuzzing the readers with mutated real inputs (issue 11).

The only allowed outcomes are success or a :class:`QdaError` that names where the
problem is (the file, and a line or row when there is one); on error the project is
unchanged. ``make test`` runs a few examples per reader (a few seconds in all);
``make fuzz`` sets ``QDA_FUZZ_EXAMPLES`` for a long run.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_pdf import minimal_pdf

from qda import Project
from qda.codebook import load_codebook
from qda.errors import QdaError
from qda.ingest import read_table, read_transcript

from conftest import CODEBOOK, FIXTURES, snapshot

EXAMPLES = int(os.environ.get("QDA_FUZZ_EXAMPLES", "12"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="QDA_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

# Bytes that break parsers: NUL, controls, quotes, YAML/CSV/XML syntax, invalid UTF-8.
NASTY = [b"\x00", b"\x1b", b"\xff", b"\xc3", b"\r", b"\n", b'"', b"'", b":", b"- ", b"&a ", b"*a",
         b"<", b"</", b"&amp", b";", b",", b"\t", b"{", b"}", b"\\", b"PK\x03\x04", b"=1+1", b"\xef\xbb\xbf"]


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """``seed`` with a few byte-level mutations: flips, inserted nasty bytes, cuts, repeats."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(NASTY)) * draw(st.integers(1, 3))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "repeat":
            chunk = data[at:at + draw(st.integers(1, 256))]
            data[at:at] = chunk * draw(st.integers(1, 20))
    return bytes(data)


def _zip_with(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _docx_seed() -> bytes:
    import docx

    document = docx.Document()
    for line in ("Q : Comment avez-vous connu vos clients ?", "R : Par le salon, puis par courriel.",
                 "Q : Et ensuite ?", "R : Le téléphone, surtout."):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


ODT_CONTENT = (
    b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
    b"<text:p>Q : Comment avez-vous connu vos clients ?</text:p>"
    b"<text:p>R : Par le salon<text:s text:c=\"2\"/>puis par courriel.</text:p>"
    b"</office:text></office:body></office:document-content>")

TEXT_SEEDS: dict[str, bytes] = {
    ".txt": (FIXTURES / "A1.txt").read_bytes(),
    ".md": b"# Entretien\n\nQ : Bonjour.\n\nR : Bonjour, *merci*.\n",
    ".vtt": next((FIXTURES / "formats").glob("*.vtt")).read_bytes(),
    ".srt": next((FIXTURES / "formats").glob("*.srt")).read_bytes(),
    ".rtf": next((FIXTURES / "formats").glob("*.rtf")).read_bytes(),
    ".pdf": minimal_pdf(["Q : Bonjour.", "R : Bonjour, merci."]),
}


def assert_located(exc: QdaError, path: Path) -> None:
    """A QdaError is only acceptable with a location that names the file."""
    text = str(exc)
    assert path.name in text, f"error without the file's name: {text}"


def check_reader(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        raw = read_transcript(path)
    except QdaError as exc:
        assert_located(exc, path)
        return
    assert isinstance(raw.text, str)
    for turn in raw.turns:
        assert 0 <= turn.start <= turn.end <= len(raw.text)


# ----------------------------------------------------------------------------- transcripts


@pytest.mark.parametrize("suffix", sorted(TEXT_SEEDS))
def test_fuzz_text_transcript_readers(suffix: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("fuzz")

    @FUZZ
    @given(mutated(TEXT_SEEDS[suffix]))
    def run(data: bytes) -> None:
        check_reader(folder / f"E1{suffix}", data)

    run()


@pytest.mark.parametrize("suffix", [".docx", ".odt"])
def test_fuzz_office_transcript_readers(suffix: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    if suffix == ".docx":
        seed = _docx_seed()
        main = "word/document.xml"
    else:
        seed = _zip_with({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": ODT_CONTENT})
        main = "content.xml"
    entries = _entries(seed)

    @FUZZ
    @given(st.booleans(), mutated(entries[main]), mutated(seed))
    def run(inner: bool, xml: bytes, raw: bytes) -> None:
        # Either the XML inside a sound zip is damaged, or the zip bytes themselves.
        data = _zip_with({**entries, main: xml}) if inner else raw
        check_reader(folder / f"E1{suffix}", data)

    run()


# ----------------------------------------------------------------------------- sheets, codebooks


def _study_copy(study_project: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A private copy of the example project (copied: no language model to load again)."""
    folder = tmp_path_factory.mktemp(name) / "p"
    shutil.copytree(study_project, folder, ignore=shutil.ignore_patterns("backups"))
    return folder


@pytest.fixture(scope="module")
def fuzz_project(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example project and its coding sheet (the seed)."""
    folder = _study_copy(study_project, tmp_path_factory, "fuzzproj")
    with Project.open(folder) as project:
        project.write_coding_sheet("seed", folder.parent / "seed.xlsx")
    return folder


def _csv_seed(project: Path) -> bytes:
    """The project's own coding sheet, as CSV, with a code filled in on every third row."""
    import csv

    rows = read_table(project.parent / "seed.xlsx")
    codes_at = [str(h).strip().lower() for h in rows[0]].index("codes")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(rows[0])
    for i, row in enumerate(rows[1:]):
        cells = ["" if v is None else v for v in row]
        if i % 3 == 0:
            cells[codes_at] = "a"
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def test_fuzz_coding_sheets_leave_the_project_unchanged_on_error(fuzz_project: Path) -> None:
    seed = _csv_seed(fuzz_project)
    xlsx_seed = (fuzz_project.parent / "seed.xlsx").read_bytes()
    folder = fuzz_project.parent

    @FUZZ
    @given(st.booleans(), mutated(seed), mutated(xlsx_seed))
    def run(as_csv: bool, csv_data: bytes, xlsx_data: bytes) -> None:
        path = folder / ("sheet.csv" if as_csv else "sheet.xlsx")
        path.write_bytes(csv_data if as_csv else xlsx_data)
        before = snapshot(fuzz_project)
        try:
            with Project.open(fuzz_project) as project:
                project.import_codings(path, "fuzz")
        except QdaError as exc:
            assert_located(exc, path)
            assert snapshot(fuzz_project) == before
        try:
            read_table(path)
        except QdaError as exc:
            assert_located(exc, path)

    run()


def test_fuzz_yaml_codebooks(fuzz_project: Path) -> None:
    seed = CODEBOOK.read_bytes()
    path = fuzz_project.parent / "codebook.yaml"

    @FUZZ
    @given(mutated(seed))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        try:
            load_codebook(path)
        except QdaError as exc:
            assert_located(exc, path)
            locations = [p.location for p in exc.problems]
            # Problems inside the file carry a line number.
            assert all(loc.startswith(str(path)) for loc in locations if loc)

    run()


# ----------------------------------------------------------------------------- surveys, REFI-QDA


def _survey_seed() -> bytes:
    return ("id,groupe,age,reponse,autre\n"
            "R1,entrée,34,\"Par le salon, puis par courriel.\",Le téléphone\n"
            "R2,post-entrée,51,Le bouche-à-oreille surtout,\n"
            "R3,entrée,,\"Un site web ; des \"\"newsletters\"\"\",Rien\n").encode()


def test_fuzz_survey_tables(tmp_path: Path) -> None:
    from openpyxl import Workbook

    from qda.ingest.plan import read_survey

    seed = _survey_seed()
    book = Workbook()
    for line in seed.decode("utf-8").splitlines():
        book.active.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx_seed = buffer.getvalue()

    @FUZZ
    @given(st.booleans(), mutated(seed), mutated(xlsx_seed))
    def run(as_csv: bool, csv_data: bytes, xlsx_data: bytes) -> None:
        path = tmp_path / ("survey.csv" if as_csv else "survey.xlsx")
        path.write_bytes(csv_data if as_csv else xlsx_data)
        try:
            loaded, attributes = read_survey(path, ["reponse", "autre"], "id")
        except QdaError as exc:
            assert_located(exc, path)
            return
        for _, name, raw in loaded:
            assert name in attributes
            for turn in raw.turns:
                assert 0 <= turn.start <= turn.end <= len(raw.text)

    run()


@pytest.fixture(scope="module")
def refi_project(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example project and its own REFI-QDA exports (the seeds)."""
    folder = _study_copy(study_project, tmp_path_factory, "fuzzrefi")
    with Project.open(folder) as project:
        project.export_qdpx(folder.parent / "seed.qdpx")
        project.export_qdc(folder.parent / "seed.qdc")
    return folder


def _refi_import(project_folder: Path, path: Path, data: bytes) -> None:
    """Import ``data`` as ``path`` (.qdpx: a project, .qdc: a codebook): success, or a located
    error and the project unchanged."""
    path.write_bytes(data)
    before = snapshot(project_folder)
    try:
        with Project.open(project_folder) as project:
            if path.suffix == ".qdc":
                project.import_qdc(path)
            else:
                project.import_qdpx(path)
    except QdaError as exc:
        assert_located(exc, path)
        assert snapshot(project_folder) == before


def test_fuzz_qdpx_projects_leave_the_project_unchanged_on_error(refi_project: Path) -> None:
    seed = (refi_project.parent / "seed.qdpx").read_bytes()
    entries = _entries(seed)
    main = next(name for name in entries if name.endswith(".qde"))

    @FUZZ
    @given(st.booleans(), mutated(entries[main]), mutated(seed))
    def run(inner: bool, xml: bytes, raw: bytes) -> None:
        # Either the project XML inside a sound archive is damaged, or the archive itself.
        _refi_import(refi_project, refi_project.parent / "fuzzed.qdpx",
                     _zip_with({**entries, main: xml}) if inner else raw)

    run()


def test_fuzz_qdc_codebooks_leave_the_project_unchanged_on_error(refi_project: Path) -> None:
    seed = (refi_project.parent / "seed.qdc").read_bytes()

    @FUZZ
    @given(mutated(seed))
    def run(data: bytes) -> None:
        _refi_import(refi_project, refi_project.parent / "fuzzed.qdc", data)

    run()


def test_an_unknown_xml_encoding_is_a_located_error(tmp_path: Path) -> None:
    """Found by the fuzzer: an XML declaration naming an unknown encoding ended in LookupError."""
    from qda.refi.read import read_refi

    declared = b'<?xml version="1.0" encoding="ttf-8"?>\n'
    qdc = tmp_path / "codes.qdc"
    qdc.write_bytes(declared + b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>')
    with pytest.raises(QdaError, match="unknown encoding") as caught:
        read_refi(qdc)
    assert_located(caught.value, qdc)
    odt = tmp_path / "E1.odt"
    odt.write_bytes(_zip_with({"mimetype": b"application/vnd.oasis.opendocument.text",
                               "content.xml": declared + ODT_CONTENT}))
    with pytest.raises(QdaError, match="not readable XML") as caught:
        read_transcript(odt)
    assert_located(caught.value, odt)


def test_a_docx_whose_document_part_is_not_a_document_is_a_located_error(tmp_path: Path) -> None:
    """Found by the fuzzer: python-docx loads such a part, then fails with AttributeError."""
    entries = _entries(_docx_seed())
    path = tmp_path / "E1.docx"
    path.write_bytes(_zip_with({**entries, "word/document.xml": b'<?xml version="1.0"?><notadocument/>'}))
    with pytest.raises(QdaError, match="damaged .docx") as caught:
        read_transcript(path)
    assert_located(caught.value, path)
