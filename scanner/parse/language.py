"""Which language an item is written in: "sv", "en" or "other". Fast and dependency-free.

Feeds often declare no language, or the site's language for every item; the digest and the
tagger want to know whether an item really is Swedish or English. The detector counts common
function words of Swedish, English and the neighbours Swedish is most often confused with
(Norwegian and Danish, Finnish, German), adds the letters that tell them apart (å ä ö for
Swedish, æ ø for Norwegian and Danish), and looks at word endings when a short title has no
function word ("Digital delaktighet", "Meröppna bibliotek"). Only the start of a long text is
read (`SAMPLE_CHARS`), so a 1 MB text costs the same as a page.

It runs on every item the tagger sees, so the words are split with bytes.translate and
str.split — plain Swedish text (ASCII, å ä ö and common punctuation) is casefolded by the same
translate —, the regex only where characters other than letters lie outside ASCII, and only
the function words are counted.

Text without letters (empty, digits, punctuation) has no language: `detect_language` returns
`default`, "other" unless the caller passes e.g. the feed's declared language.
"""

from __future__ import annotations

import re
from collections import _count_elements  # Counter's C loop, without Counter's Python __init__
from itertools import filterfalse

from scanner.plaintext import plain_utf8

SAMPLE_CHARS = 4000
SWEDISH, ENGLISH, OTHER = "sv", "en", "other"

_WORD = re.compile(r"[^\W\d_]+")
# ASCII bytes that are not letters become spaces; UTF-8 lead/trail bytes stay:
_LETTERS_ONLY = bytes(b if b >= 128 or chr(b).isalpha() else 32 for b in range(256))
_NON_ASCII_NON_LETTER = re.compile(r"[^\x00-\x7F](?<![^\W\d_])")


def _plain_letters_table() -> bytes:
    """A bytes.translate table for plain text: capitals (ASCII, Å Ä Ö É) to lower case, the
    other ASCII characters that are not letters to spaces."""
    table = bytearray(b if b >= 128 or chr(b).isalpha() else 32 for b in range(256))
    table[ord("A"):ord("Z") + 1] = bytes(range(ord("a"), ord("z") + 1))
    for upper, lower in zip("ÅÄÖÉ".encode()[1::2], "åäöé".encode()[1::2]):  # after the byte C3
        table[upper] = lower
    return bytes(table)


_PLAIN_LETTERS = _plain_letters_table()

_STOPWORDS = {
    "sv": "och att det som en är av för på med till den har de inte om ett han men var jag sig "
          "från vi så kan man när år säger hon under även efter eller nu sin där vid mot ska "
          "skulle kommer ut får finns vara hade alla andra mycket än här också bara blir blev "
          "sina hur vad vilka vill genom mellan utan dessa detta inom samt enligt ju något "
          "några många både ifrån hos oss våra vår deras dem själv redan sedan varit bli i ny nya "
          "nytt inför kring hela",
    "en": "the and of to in is that for it with as was on are by this be at from or an have "
          "not which but they his her has had were their been will would can more all about "
          "there what so if when who into also than its out them do new how our we you these "
          "other after only most some such those over through where should could while",
    "nd": "og ikke af er til fra også skal hvordan hva hvad etter efter jeg deg dig seg nå "
          "bare mye meget være været blev ble hvor hvis noen nogle kun denne dette disse "
          "mellom mellem blant blandt ble eller må kunne vil ville sammen uten uden hos dere "
          "jer våre vores deres fordi men ved når selv har det som en et den de om på med i ny nye "
          "nytt",
    "fi": "ja on ei että se hän oli ovat kun tai mutta myös kanssa ole mitä jos niin kuin "
          "joka sekä tämä nämä siitä sen vain voi olla ovat hänen heidän meidän kirjasto "
          "kirjaston kirjastot",
    "de": "und der die das ist nicht mit ein eine für auf dem den des sich von zu im auch "
          "wie wird bei aus oder nach werden sind noch nur über einer eines haben hat wurde",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_SHARED_SV_ND = _WORDS["sv"] & _WORDS["nd"]  # har det som en ... count little for either
# word -> ((language, weight), ...): one dictionary lookup per distinct word
_VOTES = {word: tuple((lang, 0.3 if word in _SHARED_SV_ND else 1.0)
                      for lang, words in _WORDS.items() if word in words)
          for word in set().union(*_WORDS.values())}

_SV_ENDINGS = ("het", "heten", "ning", "ningen", "ande", "ende", "else", "skap", "lig", "liga",
               "ligt", "arna", "erna", "orna", "ens", "tion", "tionen", "iska", "iskt", "era",
               "eket", "oken", "iken", "ets", "ast")
# This is a library service: its own words tell Scandinavian from English in bare titles.
_SV_WORD = re.compile(r"bibliotek|läs|böck|bok")
_EN_WORD = re.compile(r"librar|reading|book")
_EN_ENDINGS = ("ing", "tion", "ness", "ly", "ed", "ies", "ment", "ity", "ship", "ous", "ful",
               "ive", "able", "ary", "ory", "ry", "ic")
_EN_ONLY_LETTERS = re.compile(r"w|th|sh|ch|qu")


def detect_language(text: str, default: str = OTHER) -> str:
    """"sv", "en" or "other" for `text`; `default` when it has no letters to judge by."""
    letters = _letters(text[:SAMPLE_CHARS] if text else "")
    return _verdict(letters.split(), letters, default)


def language_of_words(words: list[str], characters: int, default: str = OTHER) -> str | None:
    """`detect_language` of a text of `characters` characters, read whole, from its words as
    the tagger's rules split plain text without é (classify.text.plain_tokens: runs of letters
    and digits, lower-cased; the same runs as here where no word mixes letters and digits).
    None when the text is longer than the sample or a word mixes letters and digits: the
    caller then asks `detect_language`."""
    if characters > SAMPLE_CHARS:
        return None
    letters = "".join(words)  # the sample's letters in order (and digits): what is counted
    if not letters.isalpha():
        words = list(filterfalse(str.isdigit, words))
        letters = "".join(words)
        if letters and not letters.isalpha():
            return None
    return _verdict(words, letters, default, plain=True)


def language_of_plain(words: list[str], parts: tuple[bytes, ...], characters: int,
                      default: str = OTHER) -> str | None:
    """`language_of_words(words, characters, default)`, also given the bytes the words were
    split from: each part (title, text) as the rules lower-case plain text without é
    (classify.text.plain_lowered), whose bytes are spaces, ASCII letters and digits, and those
    of å ä ö. Which words have digits, and the letters å ä ö, are then read from the bytes by
    a translate and a few searches in C, instead of joining the words and testing every
    character."""
    if characters > SAMPLE_CHARS:
        return None
    sample = b" ".join(parts)
    # (find, not `in`: `in` first tries a bytes needle as an int, and formats an error)
    classes = sample.translate(_BYTE_CLASSES)
    if classes.find(b"0") >= 0 and (classes.find(b"a0") >= 0 or classes.find(b"0a") >= 0):
        return None  # a word mixes letters and digits
    if classes.find(b"a") < 0:
        return default  # no word has a letter (as language_of_words, whose words are then [])
    # the words that are digits only count for nothing: no stopword, ending or letter of them;
    # the last byte of å ä ö is no other byte of such text
    swedish = sample.count(_A_UMLAUT_END) + sample.count(_O_UMLAUT_END)
    scores = _stopword_scores(words)
    _add_letter_counts(scores, 0, swedish, sample.count(_A_RING_END))
    return _decided(words, scores, default)


# plain_lowered bytes -> b"0" for a digit, b" " for a space, b"a" for a letter or letter byte
_BYTE_CLASSES = bytes(ord("0") if chr(b).isdigit() and b < 128 else 32 if b == 32 else ord("a")
                      for b in range(256))
_A_UMLAUT_END, _O_UMLAUT_END, _A_RING_END = ("ä".encode()[-1:], "ö".encode()[-1:],
                                             "å".encode()[-1:])


def _verdict(words: list[str], letters: str, default: str, plain: bool = False) -> str:
    """The language of a sample of these words and letters (other characters do not count);
    `plain` as for _add_letter_evidence."""
    if not words:
        return default
    scores = _stopword_scores(words)
    _add_letter_evidence(letters, scores, plain)
    return _decided(words, scores, default)


def _decided(words: list[str], scores: dict[str, float], default: str) -> str:
    """The verdict from the stopword and letter scores, word endings added when those say
    little."""
    if max(scores.values()) < 1.0:
        _add_ending_evidence(words, scores)
    best = max(scores, key=scores.__getitem__)
    if scores[best] <= 0:
        return default if default in (SWEDISH, ENGLISH) else OTHER
    return best if best in (SWEDISH, ENGLISH) else OTHER


def _letters(sample: str) -> str:
    """The casefolded sample with every character that is not a letter as a space: its words
    are `_WORD.findall(sample.casefold())`, its letters those of the casefolded sample."""
    plain = plain_utf8(sample)
    if plain is not None:
        return plain.translate(_PLAIN_LETTERS).decode("utf-8")
    sample = sample.casefold()
    if _NON_ASCII_NON_LETTER.search(sample):  # a regex that skips ASCII quickly
        sample = _NON_ASCII_NON_LETTER.sub(" ", sample)
    return sample.encode("utf-8").translate(_LETTERS_ONLY).decode("utf-8")


def _stopword_scores(words: list[str]) -> dict[str, float]:
    scores = dict.fromkeys(_WORDS, 0.0)
    counts: dict[str, int] = {}
    _count_elements(counts, filter(_VOTES.__contains__, words))
    for word, count in counts.items():
        for lang, weight in _VOTES[word]:
            scores[lang] += count * weight
    return scores


def _add_letter_evidence(sample: str, scores: dict[str, float], plain: bool = False) -> None:
    """å ä ö are Swedish (ä ö also Finnish and German), æ ø Norwegian or Danish, ü ß German.
    `plain`: the sample is plain text (scanner.plaintext), which has no æ ø ü ß: they are not
    counted, and adding their 0.0 to a score (never -0.0) would change nothing."""
    nordic = 0 if plain else sample.count("æ") + sample.count("ø")
    _add_letter_counts(scores, nordic, sample.count("ä") + sample.count("ö"), sample.count("å"))
    if not plain:
        scores["de"] += 1.0 * (sample.count("ü") + sample.count("ß"))


def _add_letter_counts(scores: dict[str, float], nordic: int, swedish: int, aring: int) -> None:
    """The evidence of æ ø (nordic), ä ö (swedish) and å (aring) counted in a sample."""
    scores["nd"] += 1.5 * nordic
    scores["sv"] += 0.5 * (swedish + aring) if not nordic else 0.0
    scores["fi"] += 0.2 * swedish if not aring else 0.0


def _add_ending_evidence(words: list[str], scores: dict[str, float]) -> None:
    """Short texts without function words: word endings and letter pairs Swedish lacks."""
    for word in words:
        if len(word) < 4:
            continue
        if word.endswith(_SV_ENDINGS) and not word.endswith(("tion", "ing")):
            scores["sv"] += 0.5
        elif word.endswith(_EN_ENDINGS):
            scores["en"] += 0.5
        if _EN_ONLY_LETTERS.search(word):
            scores["en"] += 0.3
        if _SV_WORD.search(word):
            scores["sv"] += 1.0
        elif _EN_WORD.search(word):
            scores["en"] += 1.0
