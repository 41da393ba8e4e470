"""Transcripts exported by real tools (Teams, Zoom, OneDrive, YouTube, NVivo, Word...).

The files live beside the project in ``../shared/realfiles/transcripts/`` and are never
copied into the repository (several have no licence): these tests read them in place
and skip when the folder is absent. They assert speakers and turn counts, checked by
reading each file, never transcript text. ``../shared/realfiles/SOURCES.md`` lists the
trap each file carries.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path

import pytest

from qda.ingest import RawTranscript, normalise_text, read_transcript

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "shared" / "realfiles" / "transcripts"

# path -> (number of turns, turns per speaker; None = a turn nobody is named for)
EXPECTED: dict[str, tuple[int, dict[str | None, int]]] = {
    # Teams Premium: GUID/n-m cue ids, <v Name> spanning two lines; overlapping
    # utterances make the two speakers alternate 10 times.
    "vtt/teams2nvivo_TeamsPremium.vtt": (10, {"Charles": 5, "Janaki": 5}),
    # New Teams: no speaker tags; one turn per utterance id (GUID/n), 3 utterances.
    "vtt/teams2nvivo_New_Teams_Format.vtt": (3, {None: 3}),
    # Old Teams: negative, unpadded timestamps; "Last, First" voice names.
    "vtt/teams2nvivo_Test_teams_transcription_2022-11-15-from_Teams.vtt":
        (100, {"Hurst, Peter": 50, "Wright, Steve": 50}),
    # OneDrive / Stream: BOM, no speakers, GUID-n cue ids: 116 utterances.
    "vtt/teams2nvivo_Test_OneDrive_Transcription_2022-11.vtt": (116, {None: 116}),
    # Voice names with a comma and parentheses.
    "vtt/teams2nvivo_teams_transcript.vtt":
        (10, {"Speaker, First (Student)": 5, "Interviewer, First": 5}),
    # Zoom: "Name: text" cues, five pseudonymous participants (one speaks once), two
    # cues without a name.
    "vtt/teams2nvivo_zoom_transcript.vtt":
        (34, {"Andrew Knight": 14, "Paul McCartney": 10, "John Lennon": 5, "George Harrison": 2,
              "Ringo Starr": 1, None: 2}),
    # Podcast: speaker changes marked only by a leading "- " (159 of them).
    "vtt/talkpython_yt_313-pydantic.vtt": (159, {None: 159}),
    # youtube-dl auto-captions: header block, inline word timestamps, rolling repeats.
    "vtt/webvttpy_youtube_dl.vtt": (1, {None: 1}),
    # Named SubRip: 770 cues, all "Name:"; besides the three named people, some cues
    # are labelled "Speaker 3" by the tool.
    "srt/talkpython_525-nicegui-youtube-named.srt":
        (207, {"Michael Kennedy": 82, "Rodja": 65, "Falko": 37, "Speaker 3": 23}),
    # Same tool without names: one turn.
    "srt/talkpython_522-codecut-ai-youtube.srt": (1, {None: 1}),
    "srt/webvttpy_sample.srt": (1, {None: 1}),
    # French research interviews: "[Chercheur] (0:01 - 0:11)" label paragraphs, text in
    # the following paragraphs; the title paragraph is a turn without speaker.
    "fr/artisans_Entretien_01_24.10.03_01_traitement_A.docx": (37, {None: 1, "Chercheur": 18, "Interviewe": 18}),
    "fr/artisans_Entretien_01_24.10.04_04_traitement.docx": (34, {None: 1, "Chercheur": 16, "Interviewe": 17}),
    "fr/artisans_Entretien_01_25.05.15_traitement_A.docx": (32, {None: 1, "Chercheur": 16, "Interviewe": 15}),
    # Spanish teaching interview: a metadata header (with "Proyecto:" and "Duración:"
    # lines that are not speakers), then alternating labels.
    "txt/cursoqualcoder_05-entrevista-ejemplo_es.txt": (15, {None: 1, "Entrevistadora": 7, "Rosa": 7}),
    # "HH:MM:SS text" lines, no speakers: one turn per timestamped line.
    "txt/talkpython_002_jesse_davis.txt": (428, {None: 428}),
    # NVivo import table: one turn per row (63 rows, two with an empty Speaker column).
    "txt/teams2nvivo_zoom_transcript_correct_nvivo_tsv.txt":
        (63, {"Andrew Knight": 16, "Paul McCartney": 37, "John Lennon": 5, "George Harrison": 2,
              "Ringo Starr": 1, None: 2}),
    # New-style Zoom .txt: "[Name] HH:MM:SS" header lines, one turn per block.
    "txt/zoomfilter_input_example_zoom_txt.txt": (12, {"Johnny Doe": 6, "Janet Dough": 6}),
}


def _need(relative: str) -> RawTranscript:
    if not TRANSCRIPTS.is_dir():
        pytest.skip(f"real-world transcripts not available ({TRANSCRIPTS} is absent)")
    path = TRANSCRIPTS / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return read_transcript(path)


def test_every_real_transcript_has_expectations() -> None:
    if not TRANSCRIPTS.is_dir():
        pytest.skip(f"real-world transcripts not available ({TRANSCRIPTS} is absent)")
    found = {path.relative_to(TRANSCRIPTS).as_posix() for path in TRANSCRIPTS.rglob("*") if path.is_file()}
    assert found - set(EXPECTED) == set(), "new real files: read them and add their expectations here"


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_real_transcript_speakers_and_turns(relative: str) -> None:
    raw = _need(relative)
    count, speakers = EXPECTED[relative]
    assert dict(Counter(turn.speaker for turn in raw.turns)) == speakers
    assert len(raw.turns) == count
    # Offsets: ordered, non-overlapping, each cutting non-empty trimmed text.
    assert normalise_text(raw.text) == raw.text
    previous_end = 0
    for turn in raw.turns:
        piece = raw.text[turn.start:turn.end]
        assert piece and piece == piece.strip()
        assert turn.start >= previous_end
        previous_end = turn.end
    if relative.endswith((".vtt", ".srt")):
        assert "-->" not in raw.text and "<v" not in raw.text and "</" not in raw.text
        assert all(turn.timestamp for turn in raw.turns)


def test_subtitle_turns_change_speaker_every_time() -> None:
    # Adjacent cues of one speaker merge: two neighbouring named turns never share a speaker.
    for relative in ("vtt/teams2nvivo_TeamsPremium.vtt", "vtt/teams2nvivo_teams_transcript.vtt",
                     "vtt/teams2nvivo_Test_teams_transcription_2022-11-15-from_Teams.vtt",
                     "vtt/teams2nvivo_zoom_transcript.vtt", "srt/talkpython_525-nicegui-youtube-named.srt"):
        raw = _need(relative)
        speakers = [turn.speaker for turn in raw.turns]
        assert all(a != b for a, b in zip(speakers, speakers[1:])), relative


def test_old_teams_malformed_timestamps_are_kept() -> None:
    raw = _need("vtt/teams2nvivo_Test_teams_transcription_2022-11-15-from_Teams.vtt")
    assert any(re.search(r":-\d", turn.timestamp or "") for turn in raw.turns)  # negative, as written
    assert raw.notes == ("151 cue(s) with malformed start times, kept as written",)


def test_onedrive_bom_and_youtube_rolling_repeats() -> None:
    assert _need("vtt/teams2nvivo_Test_OneDrive_Transcription_2022-11.vtt").encoding == "utf-8-sig"
    raw = _need("vtt/webvttpy_youtube_dl.vtt")
    assert raw.notes == ("2 repeated caption line(s) of rolling captions removed",)
    assert len(raw.text.split()) == 8 and "<" not in raw.text and "Kind:" not in raw.text


def test_zoom_vtt_agrees_with_its_nvivo_conversion() -> None:
    # The TSV is the converter's expected output for the Zoom .vtt; it also cuts long
    # runs of one speaker into several rows, so compare speaker sequences with
    # consecutive repeats collapsed.
    vtt = _need("vtt/teams2nvivo_zoom_transcript.vtt")
    tsv = _need("txt/teams2nvivo_zoom_transcript_correct_nvivo_tsv.txt")
    collapse = lambda raw: [speaker for speaker, _ in itertools.groupby(t.speaker for t in raw.turns)]  # noqa: E731
    assert collapse(vtt) == collapse(tsv)
    # The "Timespan / Speaker / Content" header row belongs to no turn.
    assert tsv.turns[0].start > tsv.text.index("\n")
    assert all(re.fullmatch(r"\d{2}:\d{2}:\d{2}(?:\.\d+)?", turn.timestamp or "") for turn in tsv.turns)


def test_french_interviews_keep_the_range_start() -> None:
    for relative in [r for r in EXPECTED if r.startswith("fr/")]:
        raw = _need(relative)
        labelled = [turn for turn in raw.turns if turn.speaker]
        assert all(re.fullmatch(r"\d{1,2}:\d{2}", turn.timestamp or "") for turn in labelled), relative
        # No label line leaks into a turn's text.
        assert not any("[Chercheur]" in raw.text[t.start:t.end] or "[Interviewe]" in raw.text[t.start:t.end]
                       for t in raw.turns), relative


def test_zoom_txt_and_timestamped_podcast_keep_timestamps() -> None:
    zoom = _need("txt/zoomfilter_input_example_zoom_txt.txt")
    assert all(re.fullmatch(r"\d{2}:\d{2}:\d{2}", turn.timestamp or "") for turn in zoom.turns)
    assert not any("[" in zoom.text[t.start:t.end] for t in zoom.turns)
    podcast = _need("txt/talkpython_002_jesse_davis.txt")
    assert all(turn.timestamp for turn in podcast.turns)
    assert podcast.turns[0].timestamp == "00:00:00"
