"""The suggester's feature texts: what a segment's context is (previous, next, the turn it answers)."""

from __future__ import annotations

from qda.suggest.corpus import texts_from
from qda.suggest.learn import Terms, analyzer_of, check_params

WORDS = ["what is two plus two ?", "four", "i think", "why ?", "because two and two", "next lesson"]
DOCUMENT = [0, 0, 0, 0, 0, 1]
ROLES: list[str | None] = ["teacher", "student", "student", "teacher", "student", "teacher"]


def test_context_never_crosses_a_document() -> None:
    texts = texts_from(WORDS, DOCUMENT, ROLES)
    every = Terms(following=True, turn=True, other=True)
    first_of_next_document = every(texts[5])
    assert not any(t.startswith(("<p>", "<o>")) for t in first_of_next_document)
    assert "<prole><start>" in first_of_next_document
    last_of_first_document = every(texts[4])
    assert not any(t.startswith("<n>") for t in last_of_first_document)


def test_the_turn_answered_is_the_other_speakers_last_segment() -> None:
    texts = texts_from(WORDS, DOCUMENT, ROLES)
    terms = Terms(context=False, turn=True, other=True)
    # the student's second sentence still answers the teacher's question, not the student's own "four"
    second = terms(texts[2])
    assert [t for t in second if t.startswith("<o>")] == ["<o>" + w for w in WORDS[0].split()]
    assert "<prole>student" in second and "<turn>" not in second
    # the teacher's "why ?" opens a turn after the student's last sentence
    why = terms(texts[3])
    assert [t for t in why if t.startswith("<o>")] == ["<o>i", "<o>think"]
    assert "<prole>student" in why and "<turn>" in why


def test_without_roles_there_is_no_turn_answered() -> None:
    texts = texts_from(["one", "two", "three"], [0, 0, 0], [None, None, None])
    assert not any(t.startswith("<o>") for text in texts for t in Terms(other=True)(text))


def test_following_and_length_terms() -> None:
    texts = texts_from(WORDS, DOCUMENT, ROLES)
    terms = Terms(context=False, role=False, following=True, length=True)(texts[0])
    assert [t for t in terms if t.startswith("<n>")] == ["<n>four"]
    assert "<len>6-8" in terms
    assert "<len>1" in Terms(length=True)(texts[1])


def test_default_terms_are_unchanged_by_the_extra_fields() -> None:
    """The default analyzer reads the segment, its previous segment and the role only: models stored
    before the extra fields existed score the same texts the same way."""
    texts = texts_from(WORDS, DOCUMENT, ROLES)
    old_style = Terms(bigrams=True, context=True, role=True)
    assert old_style(texts[3]) == ["why", "?", "why ?", "<p>i", "<p>think", "<role>teacher"]
    # a stored model's parameters may predate the options: they are off then
    stored = analyzer_of({"bigrams": True, "context": True, "role": True})
    assert stored(texts[3]) == old_style(texts[3])
    assert set(check_params(None)) >= {"following", "turn", "length", "other"}
