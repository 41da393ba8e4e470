"""Re-anchoring codings onto a revised transcript (qda.ingest.reanchor)."""

from __future__ import annotations

import random
import time

import pytest

from qda.errors import IngestError
from qda.ingest.reanchor import Anchor, Reanchored, by_status, reanchor

OLD = (
    "Enquêteur : Pouvez-vous me décrire votre arrivée dans l'entreprise ?\n"
    "\n"
    "Répondante : Alors, l'acceuil a été très chaleureux, tout le monde est venu me "
    "saluer le premier jour. On m'a donné un ordinateur portable et un badge.\n"
    "\n"
    "Enquêteur : Et la communication au sein de l'équipe ?\n"
    "\n"
    "Répondante : On utilise surtout Teams pour les messages rapides. Les réunions du "
    "lundi matin sont parfois trop longues, mais elles permettent de faire le point. "
    "Pour les questions urgentes, on passe un coup de fil.\n"
    "\n"
    "Enquêteur : Y a-t-il des difficultés particulières ?\n"
    "\n"
    "Répondante : Le courriel reste un problème, on en reçoit beaucoup trop. Franchement, "
    "je perds une heure par jour à trier mes messages.\n"
)

# The codings of the old transcript: key -> coded phrase (each occurs once in OLD).
PHRASES = {
    1: "l'acceuil a été très chaleureux",
    2: "un ordinateur portable et un badge",
    3: "On utilise surtout Teams pour les messages rapides.",
    4: "Les réunions du lundi matin sont parfois trop longues",
    5: "on passe un coup de fil",
    6: "Le courriel reste un problème, on en reçoit beaucoup trop.",
    7: "je perds une heure par jour à trier mes messages",
}


def anchors_for(text: str, phrases: dict[int, str]) -> list[Anchor]:
    """Anchors on the only occurrence of each phrase in ``text``."""
    anchors = []
    for key, phrase in phrases.items():
        assert text.count(phrase) == 1, phrase
        start = text.index(phrase)
        anchors.append(Anchor(key, start, start + len(phrase)))
    return anchors


def landed(new: str, results: list[Reanchored]) -> dict[int, tuple[str, str]]:
    """key -> (status, new text), checking each result's text is really at its offsets."""
    out = {}
    for r in results:
        if r.status == "orphaned":
            assert (r.start, r.end, r.new_text, r.score) == (None, None, "", 0.0)
        else:
            assert r.start is not None and r.end is not None
            assert new[r.start:r.end] == r.new_text
        out[r.key] = (r.status, r.new_text)
    return out


def test_unchanged_text_leaves_every_coding_unchanged() -> None:
    anchors = anchors_for(OLD, PHRASES)
    results = reanchor(OLD, OLD, anchors)
    assert [r.key for r in results] == [a.key for a in anchors]
    for r, a in zip(results, anchors):
        assert (r.status, r.start, r.end, r.score) == ("unchanged", a.start, a.end, 100.0)
        assert r.new_text == r.old_text == PHRASES[a.key]


def test_typo_fixed_inside_a_coded_passage_is_changed_and_covers_the_fix() -> None:
    new = OLD.replace("l'acceuil", "l'accueil")
    results = reanchor(OLD, new, anchors_for(OLD, PHRASES))
    got = landed(new, results)
    assert got[1] == ("changed", "l'accueil a été très chaleureux")
    assert 80 <= results[0].score < 100
    # The fix is before them, but the text's length did not change: offsets are the same.
    for key in range(2, 8):
        assert got[key] == ("unchanged", PHRASES[key])


def test_typo_fix_that_lengthens_the_first_or_last_word_of_a_span() -> None:
    old = "Elle parle de réunions trop longue et de courriels.\n"
    new = "Elle parle de réunions trop longues et de courriels.\n"
    results = reanchor(old, new, anchors_for(old, {1: "réunions trop longue", 2: "de courriels"}))
    assert landed(new, results) == {1: ("changed", "réunions trop longues"),
                                    2: ("moved", "de courriels")}
    old = "On a des reunions le lundi.\n"
    new = "On a des Réunions le lundi.\n"
    results = reanchor(old, new, anchors_for(old, {1: "reunions le lundi"}))
    assert landed(new, results) == {1: ("changed", "Réunions le lundi")}


def test_paragraph_inserted_at_the_top_moves_every_coding() -> None:
    preface = ("Entretien n° 7, réalisé le 12 mars 2024 à Lyon. Durée : 54 minutes. "
               "Transcription relue par l'équipe.\n\n")
    new = preface + OLD
    results = reanchor(OLD, new, anchors_for(OLD, PHRASES))
    got = landed(new, results)
    assert got == {key: ("moved", phrase) for key, phrase in PHRASES.items()}
    for r, a in zip(results, anchors_for(OLD, PHRASES)):
        assert (r.start, r.end, r.score) == (a.start + len(preface), a.end + len(preface), 100.0)


def test_deleted_passage_is_orphaned_and_the_others_stay_anchored() -> None:
    deleted = ("Les réunions du lundi matin sont parfois trop longues, mais elles permettent "
               "de faire le point. ")
    new = OLD.replace(deleted, "")
    results = reanchor(OLD, new, anchors_for(OLD, PHRASES))
    got = landed(new, results)
    assert got[4] == ("orphaned", "")
    assert results[3].old_text == PHRASES[4]  # the orphan keeps its text for the report
    assert got[1] == ("unchanged", PHRASES[1])
    assert got[2] == ("unchanged", PHRASES[2])
    assert got[3] == ("unchanged", PHRASES[3])
    for key in (5, 6, 7):
        assert got[key] == ("moved", PHRASES[key])
    groups = by_status(results)
    assert [r.key for r in groups["orphaned"]] == [4]
    assert [r.key for r in groups["moved"]] == [5, 6, 7]
    assert groups["changed"] == []


def test_edits_at_several_places_at_once() -> None:
    new = (
        OLD.replace("l'acceuil a été très chaleureux", "l'accueil a été très chaleureux")
        .replace("Enquêteur : Et la communication",
                 "Enquêteur : D'accord. Parlons des outils.\n\nEnquêteur : Et la communication")
        .replace("Les réunions du lundi matin sont", "Les réunions du mardi matin sont")
        .replace("Pour les questions urgentes, on passe un coup de fil.\n",
                 "Pour les questions urgentes, on passe un coup de téléphone.\n")
        .replace("Franchement, je perds une heure par jour à trier mes messages.",
                 "Franchement, je perds une heure par jour à trier mes méls.")
        .replace("On m'a donné un ordinateur portable et un badge.", "")
    )
    results = reanchor(OLD, new, anchors_for(OLD, PHRASES))
    assert landed(new, results) == {
        1: ("changed", "l'accueil a été très chaleureux"),
        2: ("orphaned", ""),
        3: ("moved", PHRASES[3]),
        4: ("changed", "Les réunions du mardi matin sont parfois trop longues"),
        5: ("changed", "on passe un coup de téléphone"),  # the whole new word, not "tél"
        6: ("moved", PHRASES[6]),
        7: ("changed", "je perds une heure par jour à trier mes méls"),
    }
    # A strict threshold refuses the rewritten end of passage 5 (ratio about 81, and about
    # 90 for the "on passe un coup de" a fuzzy search finds without the new word).
    strict = reanchor(OLD, new, anchors_for(OLD, PHRASES), threshold=95)
    assert landed(new, strict)[5] == ("orphaned", "")
    assert landed(new, strict)[1] == ("changed", "l'accueil a été très chaleureux")


def test_span_crossing_an_edit_keeps_its_unedited_part() -> None:
    old = "Je travaille à distance le vendredi, sauf en période de clôture.\n"
    spans = {1: "Je travaille à distance le vendredi", 2: "sauf en période de clôture"}
    # The last word of span 1 becomes two words.
    new = "Je travaille à distance le jeudi après-midi, sauf en période de clôture.\n"
    results = reanchor(old, new, anchors_for(old, spans))
    assert landed(new, results) == {1: ("changed", "Je travaille à distance le jeudi après-midi"),
                                    2: ("moved", "sauf en période de clôture")}
    # One edit straddles the end of span 1 and the start of span 2.
    new = "Je travaille à distance le jeudi. Sauf en période de clôture.\n"
    results = reanchor(old, new, anchors_for(old, spans))
    assert landed(new, results) == {1: ("changed", "Je travaille à distance le jeudi"),
                                    2: ("changed", "Sauf en période de clôture")}


def test_repeated_phrase_coded_twice_lands_on_its_own_occurrence() -> None:
    phrase = "on se sent seul"
    old = (f"Répondant : Au début, {phrase}, vraiment.\n"
           f"Enquêteur : Et maintenant ?\n"
           f"Répondant : Maintenant aussi, {phrase}, surtout le soir.\n")
    first, second = old.index(phrase), old.rindex(phrase)
    anchors = [Anchor(1, first, first + len(phrase)), Anchor(2, second, second + len(phrase))]
    # Text inserted between the two occurrences: only the second moves.
    new = old.replace("Et maintenant ?", "Et maintenant, après deux ans ?")
    results = reanchor(old, new, anchors)
    assert [(r.status, r.start) for r in results] == [
        ("unchanged", first), ("moved", new.rindex(phrase))]
    assert all(r.new_text == phrase for r in results)
    # A typo fixed in the first occurrence must not send it onto the intact second one.
    old_typo = old.replace(f"début, {phrase}", "début, on se sent seule", 1)
    first_typo = old_typo.index("on se sent seule")
    anchors = [Anchor(1, first_typo, first_typo + len("on se sent seule")),
               Anchor(2, old_typo.rindex(phrase), old_typo.rindex(phrase) + len(phrase))]
    results = reanchor(old_typo, old, anchors)
    assert [(r.status, r.start, r.new_text) for r in results] == [
        ("changed", first, phrase), ("moved", second, phrase)]  # one letter less before it
    # The first occurrence deleted: its coding is orphaned, not moved onto the second.
    gone = old.replace(f"Au début, {phrase}, vraiment.", "Au début, rien.")
    results = reanchor(old, gone, [Anchor(1, first, first + len(phrase)),
                                   Anchor(2, second, second + len(phrase))])
    assert [(r.status, r.new_text) for r in results] == [("orphaned", ""), ("moved", phrase)]


def test_moved_passage_is_found_verbatim_far_away() -> None:
    passage = "Le télétravail a tout changé pour nous."
    filler = "".join(f"Phrase de remplissage numéro {i}. " for i in range(200))
    old = f"{passage}\n{filler}\nFin de l'entretien.\n"
    new = f"{filler}\n{passage}\nFin de l'entretien.\n"
    results = reanchor(old, new, [Anchor(1, 0, len(passage))])
    assert (results[0].status, results[0].start) == ("moved", new.index(passage))
    assert results[0].new_text == passage


def test_accents_and_emoji_before_the_span_use_code_point_offsets() -> None:
    old = "Réponse : c'était génial 😀, vraiment. L'équipe était soudée.\n"
    phrase = "L'équipe était soudée"
    anchors = anchors_for(old, {1: phrase, 2: "génial 😀"})
    # Emoji and accented words inserted before both spans; a typo fixed after an emoji.
    new = "Réponse 🙂 🇫🇷 : ça, c'était génial 😀, vraiment. L'équipe était soudée.\n"
    results = reanchor(old, new, anchors)
    assert landed(new, results) == {1: ("moved", phrase), 2: ("moved", "génial 😀")}
    assert results[0].start == new.index(phrase)
    old2 = "Au café ☕ on discute : l'ambiance est éxcellente entre collègues.\n"
    new2 = "Au café ☕☕ on discute : l'ambiance est excellente entre collègues.\n"
    results = reanchor(old2, new2, anchors_for(old2, {1: "l'ambiance est éxcellente"}))
    assert landed(new2, results) == {1: ("changed", "l'ambiance est excellente")}
    assert results[0].start == new2.index("l'ambiance")


def test_empty_and_whitespace_only_spans() -> None:
    old = "Bonjour à tous.  Merci d'être venus.\n"
    gap = old.index("  ")
    anchors = [Anchor(1, 3, 3), Anchor(2, gap, gap + 2)]
    assert [(r.status, r.start, r.end) for r in reanchor(old, old, anchors)] == [
        ("unchanged", 3, 3), ("unchanged", gap, gap + 2)]
    new = "Oui. " + old
    assert [(r.status, r.start, r.new_text) for r in reanchor(old, new, anchors)] == [
        ("moved", 8, ""), ("moved", gap + 5, "  ")]
    squeezed = old.replace("  ", " ")
    results = reanchor(old, squeezed, anchors)
    assert [r.status for r in results] == ["unchanged", "orphaned"]


def test_partial_word_codings_stay_partial() -> None:
    old = "Les visioconférences fatiguent.\n"
    new = "Mais les visioconférences fatiguent.\n"
    results = reanchor(old, new, [Anchor(1, 4, 9)])  # "visio"
    assert landed(new, results) == {1: ("moved", "visio")}


def test_whole_text_replaced_orphans_everything() -> None:
    new = "Texte complètement différent, sans rapport avec l'entretien.\n"
    results = reanchor(OLD, new, anchors_for(OLD, PHRASES))
    assert {r.status for r in results} == {"orphaned"}
    assert reanchor(OLD, "", anchors_for(OLD, PHRASES))[0].status == "orphaned"


def test_bad_offsets_are_refused_with_the_coding_named() -> None:
    with pytest.raises(IngestError) as caught:
        reanchor("court", "court", [Anchor(9, 2, 40), Anchor(10, 3, 1), Anchor(11, 0, 5)])
    assert [p.location for p in caught.value.problems] == ["coding 9", "coding 10"]
    assert reanchor("court", "court", []) == []


def test_two_hundred_anchors_on_a_long_transcript_in_well_under_a_second() -> None:
    rng = random.Random(4)
    words = ("réunion équipe accueil chaleureux travail outil courriel téléphone lundi matin "
             "collègue bureau projet client échange message semaine difficulté").split()
    lines = []
    while sum(len(x) for x in lines) < 100_000:
        speaker = rng.choice(["Enquêteur", "Répondante"])
        lines.append(f"{speaker} : " + " ".join(rng.choice(words) for _ in range(25)) + ".\n")
    old = "".join(lines)
    starts = sorted(rng.sample(range(0, len(old) - 200), 200))
    anchors = []
    for key, s in enumerate(starts):
        s = old.rfind(" ", 0, s) + 1
        e = old.find(" ", s + 60)
        anchors.append(Anchor(key, s, e))
    edited = list(lines)
    for i in rng.sample(range(len(lines)), 5):
        edited[i] = edited[i].replace("é", "e", 1)
    edited.insert(len(lines) // 2, "Enquêteur : une question ajoutée après coup ?\n")
    del edited[len(lines) // 3]
    new = "".join(edited)
    began = time.perf_counter()
    results = reanchor(old, new, anchors)
    elapsed = time.perf_counter() - began
    assert elapsed < 0.5, f"{elapsed:.2f}s"
    assert len(results) == 200
    assert sum(r.status != "orphaned" for r in results) >= 195
    for r in results:
        if r.status in ("unchanged", "moved"):
            assert r.new_text == r.old_text


def test_moved_and_edited_passage_is_found_within_the_window_only() -> None:
    passage = "Le télétravail a tout chanjé pour nous, vraiment tout."
    fixed = passage.replace("chanjé", "changé")
    filler = "".join(f"Phrase de remplissage numéro {i}. " for i in range(20))
    old = f"Début. {passage}\n{filler}\nFin.\n"
    new = f"Début.\n{filler}\n{fixed}\nFin.\n"
    anchor = Anchor(1, old.index(passage), old.index(passage) + len(passage))
    (result,) = reanchor(old, new, [anchor])
    assert (result.status, result.start, result.new_text) == ("changed", new.index(fixed), fixed)
    assert result.score > 95
    (result,) = reanchor(old, new, [anchor], window=100)
    assert result.status == "orphaned"
