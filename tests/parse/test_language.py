"""Language detection: Swedish, English or other, on titles and long texts."""

from __future__ import annotations

import random

import pytest

from scanner.parse.language import _WORD, SAMPLE_CHARS, _letters, detect_language


@pytest.mark.parametrize("text", [
    "Nu ökar läsningen bland barn och unga",
    "Biblioteket är stängt under påsken",
    "Digital delaktighet",
    "Meröppna bibliotek",
    "Bokstart 10 år",
    "Stadsbiblioteket",
    "Regional biblioteksplan 2025–2028",
    "Ny rapport om utlån och besök",
    "E-boken kryssar i motvind",
    "SPRÅKCAFÉ PÅ BIBLIOTEKET",
])
def test_swedish_titles(text):
    assert detect_language(text) == "sv"


@pytest.mark.parametrize("text", [
    "Libraries in decline",
    "Public Library Manifesto",
    "Reading promotion for children",
    "The library is closed over Easter",
    "Empty words about freedom of speech",
])
def test_english_titles(text):
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", [
    "Biblioteket er åpent i dag og har mange nye bøker til utlån",  # Norwegian
    "Biblioteket er åbent i dag, og der er kommet mange nye bøger",  # Danish
    "Kirjasto on avoinna tänään ja se on myös avoinna huomenna",  # Finnish
    "Die Bibliothek ist heute geschlossen und öffnet wieder am Montag",  # German
])
def test_neighbouring_languages_are_other(text):
    assert detect_language(text) == "other"


def test_long_swedish_and_english_texts():
    swedish = ("Regionbiblioteket bjuder in alla folkbibliotek i länet till en dag om "
               "läsfrämjande arbete. Vi pratar om hur man når barn och unga som inte läser "
               "på fritiden, och om vad forskningen säger om läsförståelse. ") * 40
    english = ("The regional library invites every public library in the county to a day about "
               "reading promotion. We will talk about how to reach children who do not read "
               "in their spare time, and about what research says. ") * 40
    assert detect_language(swedish) == "sv"
    assert detect_language(english) == "en"


def test_mixed_text_goes_by_the_majority():
    text = ("Biblioteket har en ny hemsida. Där finns alla evenemang och du kan låna om dina "
            "böcker. Read more in English on our website.")
    assert detect_language(text) == "sv"


@pytest.mark.parametrize("text", ["", "   ", "2024-05-01", "!!! ???", "12 345"])
def test_no_letters_means_no_language(text):
    assert detect_language(text) == "other"
    assert detect_language(text, default="sv") == "sv"


def test_default_is_used_only_when_nothing_can_be_judged():
    assert detect_language("xyzzy", default="sv") == "sv"
    assert detect_language("Läsning och litteratur", default="en") == "sv"


def test_a_long_text_is_judged_by_its_start():
    swedish = "Det här är en svensk text om biblioteket och dess böcker. " * 80
    english = "This is an English text about the library and all of its books. " * 16_000
    assert len(swedish) > SAMPLE_CHARS and len(english) > 1_000_000
    assert detect_language(swedish + english) == "sv"
    assert detect_language(english + swedish) == "en"


@pytest.mark.parametrize("text", [
    "", "   ", "bibliotek", "Läs – mer”om§böcker…", "e-böcker, KB:s 2024-rapport",
    "m² ½ Ⅻ x²y", "İstanbul straße", "ett\u00a0två\u2009tre\u2028fyra", "a_b__c9d",
    "bøker på ærø", "\ud800lone\udfffsurrogates", "emoji😀mitt i", "٣ arabiska ٣siffror",
    "combining e\u0301 accent", "日本語のテキスト", "\x85nel\x0bvt", "ÅÄÖ åäö ÆØ æø ß ü",
    "Läs – mer ”här” • 10 § «citat» …\u00a0slut", "Är DU klar? Ökad läsning – ÅRETS bok",
])
def test_words_and_letters_are_those_of_the_casefolded_sample(text):
    assert_like_the_regex(text)


def assert_like_the_regex(sample: str) -> None:
    letters, casefolded = _letters(sample), sample.casefold()
    assert letters.split() == _WORD.findall(casefolded), repr(sample)
    assert [letters.count(c) for c in "æøäöåüß"] == [casefolded.count(c) for c in "æøäöåüß"]


def test_words_and_letters_are_those_of_the_regex_in_random_text():
    rng = random.Random(5)
    plain = list("abXYZ 019.,-:;'_<&\n") + list("åäöéÅÄÖÉ") + list("–—‘’“”•…\u00a0§«»")
    anything = [chr(c) for c in range(0x3000)] + ["\ud800", "\U0001f600", "\u0307"]
    for alphabet in (plain, plain + anything):
        for _ in range(3000):
            assert_like_the_regex("".join(rng.choice(alphabet)
                                          for _ in range(rng.randint(0, 30))))


def test_html_and_urls_do_not_confuse_it():
    text = ('<p>Läs mer om <a href="https://www.example.com/the-library">biblioteket</a> '
            'och våra öppettider.</p>')
    assert detect_language(text) == "sv"


def _plain_samples() -> list[str]:
    """Titles and texts as the tagger meets them, and words that mix or only have digits."""
    from pathlib import Path
    import json

    from scanner.classify import bundled_examples

    samples = [f"{e.title}\n{e.text}" for e in bundled_examples()]
    labelled = Path(__file__).resolve().parents[3] / "shared" / "data" / "labelled.jsonl"
    if labelled.exists():
        rows = [json.loads(line) for line in labelled.read_text().splitlines() if line.strip()]
        samples += [f"{row['title']}\n{row['text']}" for row in rows]
    rng = random.Random(21)
    vocabulary = ["och", "att", "the", "and", "og", "ikke", "und", "ja", "on", "i", "2024", "12",
                  "Bibliotek", "LÄSNING", "böcker", "Åsa", "reading", "library", "kb:s", "e-bok",
                  "i2", "covid19", "3d", "arbetet", "möjligheter", "–", "”", "…", "§", "xyz",
                  "!", "?", "_", "Ökar", "skolbiblioteken"]
    for _ in range(3000):
        words = rng.choices(vocabulary, k=rng.randint(0, 30))
        samples.append(" ".join(words[:3]) + "\n" + " ".join(words[3:]))
    return samples


def test_the_language_of_the_rules_words_is_that_of_the_text():
    from scanner.classify.text import plain_tokens
    from scanner.parse.language import language_of_words
    from scanner.plaintext import plain_utf8

    answered = 0
    for sample in _plain_samples():
        plain = plain_utf8(sample)
        if plain is None or "é" in sample or "É" in sample:
            continue  # the tagger asks only for plain text without é
        lang = language_of_words(plain_tokens(plain), len(sample))
        if lang is not None:
            answered += 1
            assert lang == detect_language(sample), sample
            for default in ("sv", "en"):
                assert language_of_words(plain_tokens(plain), len(sample), default) == \
                    detect_language(sample, default), sample
    assert answered > 1000


def test_the_rules_words_are_not_enough_for_long_texts_or_mixed_words():
    from scanner.parse.language import language_of_words

    assert language_of_words(["och"] * 2000, SAMPLE_CHARS + 1) is None
    assert language_of_words(["biblioteket", "i2", "och"], 20) is None
    assert language_of_words(["biblioteket", "2024", "och"], 20) == "sv"
    assert language_of_words(["2024"], 4) == detect_language("2024") == "other"
    assert language_of_words([], 0, "sv") == detect_language("", "sv") == "sv"


def test_letters_of_plain_text_score_the_same_without_looking_for_ae_oe_ue_ss():
    from scanner.parse.language import _add_letter_evidence
    from scanner.plaintext import PLAIN_LETTERS

    rng = random.Random(22)
    alphabet = list("abcdefghijklmnopqrstuvwxyz ") + list(PLAIN_LETTERS.lower()) * 3
    for _ in range(2000):
        sample = "".join(rng.choices(alphabet, k=rng.randint(0, 80)))
        start = {lang: rng.choice([0.0, 0.3, 1.0, 2.6]) for lang in ("sv", "en", "nd", "fi", "de")}
        plain, full = dict(start), dict(start)
        _add_letter_evidence(sample, plain, plain=True)
        _add_letter_evidence(sample, full)
        assert repr(plain) == repr(full), sample
