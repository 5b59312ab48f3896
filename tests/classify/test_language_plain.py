"""The tagger's language shortcut: language_of_plain answers as language_of_words does."""

from __future__ import annotations

import random

from scanner.classify.text import plain_lowered
from scanner.parse.language import SAMPLE_CHARS, language_of_plain, language_of_words
from scanner.plaintext import plain_utf8

_WORDS = ("och att det som en är av för på med till biblioteket Läsfrämjande the and of to "
          "library reading books og ikke af er hvordan ja on ei että und der die das "
          "Åre Älvsjö ÖPPET digital delaktighet meröppna bibliotekens 2024 12 3d i2 kb s "
          "e-böcker KB:s – “citat” nyhet").split()


def _parts(rng: random.Random) -> tuple[str, str]:
    title = " ".join(rng.choices(_WORDS, k=rng.randint(0, 6)))
    text = " ".join(rng.choices(_WORDS, k=rng.randint(0, 40)))
    return title, text


def test_language_of_plain_is_language_of_words_for_the_same_words():
    rng = random.Random(7)
    answered = unanswered = 0
    for _ in range(4000):
        title, text = _parts(rng)
        parts = plain_lowered(plain_utf8(title)), plain_lowered(plain_utf8(text))
        words = parts[0].decode().split() + parts[1].decode().split()
        characters = rng.choice([len(title) + 1 + len(text), SAMPLE_CHARS + 1])
        for default in ("other", "sv", "en"):
            expected = language_of_words(words, characters, default)
            assert language_of_plain(words, parts, characters, default) == expected, (title, text)
        answered += expected is not None
        unanswered += expected is None
    assert answered > 500 and unanswered > 500


def test_a_word_of_letters_and_digits_across_the_title_and_text_is_not_mixed():
    parts = (b"biblioteket", b"2024 och")
    words = ["biblioteket", "2024", "och"]
    assert language_of_plain(words, parts, 20) == language_of_words(words, 20) == "sv"
    assert language_of_plain(["i2"], (b"", b"i2"), 2) is None
    assert language_of_plain(["2024"], (b"2024", b""), 4) == language_of_words(["2024"], 4)
    assert language_of_plain([], (b"", b""), 1, "sv") == language_of_words([], 1, "sv") == "sv"
