"""dedup: story signatures and near-duplicate stories across sources (texts written for these
tests; places are invented)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scanner.dedup import (
    SHARED_TOKENS,
    STORY_BANDS,
    STORY_TEXT_WORDS,
    TITLE_BANDS,
    StoryProbe,
    StorySignature,
    comparable_signature,
    same_as_stored,
    same_story,
    signature_from_tokens,
    signature_tokens_text,
    story_signature,
    story_fields,
    story_signatures,
    story_sketch,
    story_similarity,
    stored_tokens,
)
from scanner.dedup import _row_minima, _word_tokens

PRESS_TITLE = "Region Norrvalla satsar 4,2 miljoner kronor på meröppna bibliotek"
PRESS_TEXT = (
    "Region Norrvalla satsar 4,2 miljoner kronor under 2027 för att fler folkbibliotek i länet "
    "ska kunna erbjuda meröppet. Pengarna fördelas till sju kommuner som har ansökt om stöd för "
    "passersystem, kameror och utbildning av personal. – Meröppet gör att biblioteket finns "
    "där när invånarna har tid, även i de minsta orterna, säger Anna Lindqvist, "
    "kulturnämndens ordförande. Regionbiblioteket Norrvalla kommer att följa upp satsningen med "
    "en enkät till besökarna hösten 2028. Först ut är Bergsåkra och Sjövik, där de meröppna "
    "biblioteken öppnar i mars. Kontakt: Erik Holm, regionbibliotekarie."
)
REPRINT_TITLE = "Pressmeddelande: Region Norrvalla satsar 4,2 miljoner på meröppna bibliotek"
REPRINT_TEXT = (
    "Sjövik kommun publicerar här ett pressmeddelande från Region Norrvalla. " + PRESS_TEXT
    + " Läs mer om Sjöviks bibliotek på kommunens webbplats."
)
NEWS_TITLE = "Meröppet byggs ut i Norrvalla – sju kommuner får dela på 4,2 miljoner"
NEWS_TEXT = (
    "Sju kommuner i Norrvalla får dela på 4,2 miljoner kronor från regionen för att införa "
    "meröppna folkbibliotek. Stödet ska gå till passersystem, kameror och utbildning av "
    "personalen. Bergsåkra och Sjövik blir först ut i mars. Enligt kulturnämndens ordförande "
    "Anna Lindqvist ska meröppet göra biblioteket tillgängligt när invånarna har tid, även på "
    "de minsta orterna. Regionbiblioteket följer upp satsningen med en enkät till besökarna "
    "2028. Biblioteksbladet har sökt Bibliotek Sverige för en kommentar."
)
SOMMARBOK_TITLE = "Sommarboken 2027: läsfrämjande för barn i Granviken"
SOMMARBOK_TEXT = (
    "Biblioteken i Granviken bjuder in alla barn mellan 8 och 12 år till Sommarboken. Barnen "
    "träffas i läsgrupper varannan vecka under sommarlovet, pratar om böckerna de läst och "
    "skriver egna berättelser. Läsfrämjande insatser för barn är ett av bibliotekens "
    "viktigaste uppdrag, och Sommarboken har ökat barnens läsning varje år sedan starten. "
    "Anmälan öppnar den 1 maj på biblioteket eller via kommunens webbplats."
)
LASOMBUD_TITLE = "Läsombud ska öka läsningen för barn i Ekeryd"
LASOMBUD_TEXT = (
    "Biblioteket i Ekeryd startar ett läsfrämjande projekt där läsombud på förskolor och "
    "fritidshem ska inspirera barn att läsa mer. Projektet får stöd från Kulturrådet och pågår "
    "i två år. Läsombuden får utbildning av bibliotekets barnbibliotekarier och en boklåda "
    "som byts varje månad. Målet är att barnens läsning ska öka och att fler familjer ska "
    "hitta till biblioteket."
)
KB_STATS_TITLE = "Biblioteksstatistiken 2025: fler besök men färre fysiska lån"
KB_STATS_TEXT = (
    "Sveriges folkbibliotek tog emot 58,9 miljoner fysiska besök under 2025, 4 procent fler än "
    "året innan. De fysiska lånen minskade däremot med 2 procent till 41,3 miljoner."
)


def sig(title: str, text: str = "") -> StorySignature:
    return story_signature(title, text)


# --------------------------------------------------------------------------- same_story


def test_reprinted_press_release_is_the_same_story():
    press, reprint = sig(PRESS_TITLE, PRESS_TEXT), sig(REPRINT_TITLE, REPRINT_TEXT)
    assert story_similarity(press, reprint) > 0.7
    assert same_story(press, reprint) and same_story(reprint, press)
    assert set(press.bands) & set(reprint.bands)  # the index finds it


def test_same_event_in_other_words_is_the_same_story():
    press, news = sig(PRESS_TITLE, PRESS_TEXT), sig(NEWS_TITLE, NEWS_TEXT)
    assert 0.35 <= story_similarity(press, news) < 0.7
    assert same_story(press, news)


def test_two_stories_on_the_same_topic_are_not_the_same_story():
    sommarbok, lasombud = sig(SOMMARBOK_TITLE, SOMMARBOK_TEXT), sig(LASOMBUD_TITLE, LASOMBUD_TEXT)
    assert story_similarity(sommarbok, lasombud) > 0.05  # they do share words
    assert not same_story(sommarbok, lasombud)
    assert not same_story(sig(PRESS_TITLE, PRESS_TEXT), sommarbok)


def test_a_shared_title_needs_shared_text_too():
    """Two regions' different plans under one title are two stories; one plan twice is one."""
    title = "Ny regional biblioteksplan för 2027–2030 antagen"
    norrvalla = sig(title, "Regionfullmäktige i Norrvalla har antagit planen. Den lyfter "
                    "meröppet, skolbibliotek och läsfrämjande för vuxna på landsbygden.")
    storasen = sig(title, "Storåsens kommuner har tillsammans tagit fram planen. Fokus ligger "
                   "på digital delaktighet, samiska och finska samt stöd till bokbussarna.")
    assert not same_story(norrvalla, storasen)
    again = sig(title + " av fullmäktige", "Regionfullmäktige i Norrvalla har antagit planen. "
                "Den lyfter meröppet, skolbibliotek och läsfrämjande på landsbygden.")
    assert same_story(norrvalla, again)


def test_title_only_items():
    title_only = sig(PRESS_TITLE)
    assert title_only.tokens == title_only.title_tokens
    assert same_story(title_only, sig(PRESS_TITLE.upper()))
    assert same_story(title_only, sig(PRESS_TITLE, PRESS_TEXT))  # the title, then the text
    assert set(title_only.bands) & set(sig(PRESS_TITLE, PRESS_TEXT).bands)
    assert not same_story(title_only, sig(SOMMARBOK_TITLE))


def test_short_generic_titles_alone_are_not_a_story():
    a, b = sig("Regional biblioteksplan"), sig("Regional biblioteksplan")
    assert story_similarity(a, b) == 1.0
    assert not same_story(a, b)  # fewer than three tokens in common
    assert not any(band.startswith("t") for band in a.bands)


def test_empty_items_match_nothing():
    empty = sig("", "")
    assert empty == StorySignature(frozenset(), frozenset(), ())
    assert story_similarity(empty, empty) == 0.0
    assert not same_story(empty, empty)
    assert not same_story(empty, sig(PRESS_TITLE, PRESS_TEXT))
    assert sig("Bara en rubrik om bibliotekens statistik", "").tokens


def test_english_items():
    title = "National Library publishes new guidelines for library services to refugees"
    text = ("The National Library has published guidelines for public libraries serving "
            "refugees and newly arrived migrants. The guidelines cover language cafés, "
            "multilingual collections and cooperation with schools, and were written "
            "together with twelve municipal libraries.")
    original, reprint = sig(title, text), sig("News: " + title, text + " Read more at kb.se.")
    assert "the" not in original.tokens and "guidelin" in original.tokens
    assert same_story(original, reprint)
    assert not same_story(original, sig(SOMMARBOK_TITLE, SOMMARBOK_TEXT))


def test_story_similarity_is_token_jaccard():
    a = signature_from_tokens("bibliotek | meröpp norrvall")
    b = signature_from_tokens("bibliotek | meröpp sjövik")
    assert story_similarity(a, b) == pytest.approx(2 / 4)


# --------------------------------------------------------------------------- tokens


def test_tokens_are_folded_stemmed_and_filtered():
    s = sig("Biblioteken och bibliotekens BESÖKARE i Älvby", "Café-kvällar på Sjöviks "
            "bibliotek: 75 besökare, 5 nya e-böcker.")
    assert s.tokens == {"bibliotek", "besök", "älvby", "caf", "kväll", "sjövik", "75", "böck"}
    assert s.title_tokens == {"bibliotek", "besök", "älvby"}  # a subset of the tokens


def test_words_of_several_tokens_or_none_count_in_any_mix():
    """Most words have one token, and a set is made of those straight away; words with none
    ("och", "5") or several ("Café-kvällar", "2025/2026") must still count as their tokens."""
    many, single, none = ["Café-kvällar", "2025/2026", "KB:s-statistik"], ["bibliotek"], ["och"]
    for words in ([], none, single, many, many + single + none, none + many[:1] * 3 + single):
        assert sig(" ".join(words)).title_tokens == {
            token for word in words for token in _word_tokens(word)}


def test_only_the_start_of_the_text_counts():
    words = (PRESS_TEXT + " " + NEWS_TEXT).split()
    assert len(words) > STORY_TEXT_WORDS
    more = " ".join(words[:STORY_TEXT_WORDS] + ["Helt", "annorlunda", "avslutning"])
    assert sig(PRESS_TITLE, more) == sig(PRESS_TITLE, " ".join(words[:STORY_TEXT_WORDS]))


# --------------------------------------------------------------------------- bands


def test_band_keys_have_a_fixed_shape():
    s = sig(PRESS_TITLE, PRESS_TEXT)
    assert len(s.bands) == STORY_BANDS + TITLE_BANDS
    assert all(re.fullmatch(r"[bt]\d+:[0-9a-f]{12}", band) for band in s.bands)
    assert [band.split(":")[0] for band in s.bands[:2]] == ["b0", "b1"]


# Stored band keys must stay valid: if these change, bump STORY_SIGNATURE_VERSION too.
PINNED_BANDS = ("b0:005501ec001e", "t0:005506c1001e")


def test_band_keys_are_stable_across_processes():
    s = sig(KB_STATS_TITLE, KB_STATS_TEXT)
    assert (s.bands[0], s.bands[STORY_BANDS]) == PINNED_BANDS
    code = ("from scanner.dedup import story_signature as s; import sys; "
            "print(' '.join(s(sys.argv[1], sys.argv[2]).bands))")
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code, KB_STATS_TITLE, KB_STATS_TEXT],
                             env=env, capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent.parent)
        assert tuple(out.stdout.split()) == s.bands


# --------------------------------------------------------------------------- storage


def test_signature_round_trips_through_text():
    s = sig(PRESS_TITLE, PRESS_TEXT)
    text = signature_tokens_text(s)
    assert text.startswith(sorted(s.title_tokens)[0] + " ")
    assert " | " in text and signature_from_tokens(text) == s
    empty = sig("", "")
    assert signature_tokens_text(empty) == " | "
    assert signature_from_tokens(signature_tokens_text(empty)) == empty


def test_signature_from_bare_tokens():
    s = signature_from_tokens("bibliotek meröpp norrvall")
    assert s.tokens == {"bibliotek", "meröpp", "norrvall"} and not s.title_tokens
    assert len(s.bands) == STORY_BANDS


def test_the_stored_token_forms_give_the_same_verdict_as_signatures():
    """A story index compares a new item's signature (read back from its token text) with the
    compact stored tokens of archived items: every verdict must equal same_story's."""
    texts = [(PRESS_TITLE, PRESS_TEXT), (REPRINT_TITLE, REPRINT_TEXT), (NEWS_TITLE, NEWS_TEXT),
             (SOMMARBOK_TITLE, SOMMARBOK_TEXT), (LASOMBUD_TITLE, LASOMBUD_TEXT),
             (PRESS_TITLE, ""), ("", PRESS_TEXT), ("", "")]
    token_texts = [signature_tokens_text(sig(title, text)) for title, text in texts]
    verdicts = []
    for a in token_texts:
        for b in token_texts:
            expected = same_story(signature_from_tokens(a), signature_from_tokens(b))
            new = StoryProbe(stored_tokens(a))
            assert new.signature() == comparable_signature(a)
            assert same_as_stored(new, stored_tokens(b)) == expected
            verdicts.append(expected)
    assert True in verdicts and False in verdicts


VARIED = [
    (PRESS_TITLE, PRESS_TEXT), (REPRINT_TITLE, REPRINT_TEXT), (NEWS_TITLE, NEWS_TEXT),
    (SOMMARBOK_TITLE, SOMMARBOK_TEXT), (LASOMBUD_TITLE, LASOMBUD_TEXT),
    (KB_STATS_TITLE, KB_STATS_TEXT), (KB_STATS_TITLE, ""), ("", KB_STATS_TEXT), ("", ""),
    ("Ny", "Kort."), ("Café-kväll på Älvby bibliotek", "Naïve résumé: 75 e-böcker, 2025 års "
     "KB:s statistik, Ångström och façade i Sjövik."), ("2025 2026 2027", "1 2 3 4 5 6 7 8"),
    ("Å Ä Ö å ä ö", "Åsa, Örjan och Äbbe läser på Öland."),
]


def _mutations(text: str, rng) -> list[str]:
    """Variants of a text with a share of its words dropped, swapped or shuffled: pairs near
    every threshold of same_story."""
    words = text.split()
    variants = []
    for share in (0.1, 0.3, 0.45, 0.6, 0.8):
        kept = [w if rng.random() > share else rng.choice(["Norrvalla", "sjön", "2031", "ö"])
                for w in words if rng.random() > share / 2]
        rng.shuffle(kept)
        variants.append(" ".join(kept))
    return variants


def test_the_sketch_only_rules_out_what_same_story_rejects():
    """A StoryProbe's sketch lets same_as_stored say no without comparing tokens: on
    varied pairs (å ä ö, accents, numbers, short titles, no text, near every threshold) its
    verdicts must equal same_story's."""
    rng = random.Random(11)
    texts = list(VARIED)
    for title, text in VARIED[:6]:
        texts += zip(_mutations(title, rng), _mutations(text, rng))
    token_texts = [signature_tokens_text(sig(title, text)) for title, text in texts]
    verdicts, ruled_out = [], 0
    for a in token_texts:
        new = StoryProbe(stored_tokens(a))
        for b in token_texts:
            known = stored_tokens(b)
            expected = same_story(signature_from_tokens(a), signature_from_tokens(b))
            assert same_as_stored(new, known) == expected, (a, b)
            ruled_out += new.sketch.rules_out(known)
            verdicts.append(expected)
    assert True in verdicts and False in verdicts and ruled_out


def test_the_sketch_bounds_shared_tokens_when_buckets_collide():
    """With hundreds of tokens many share a bucket: the bound on shared tokens must hold,
    and verdicts must stay equal, also for pairs near STORY_JACCARD and TITLE_JACCARD."""
    rng = random.Random(5)
    vocabulary = [f"ord{n}" for n in range(3000)]
    for _ in range(300):
        size = rng.choice([5, 40, 300, 700])
        a = rng.sample(vocabulary, size)
        kept = rng.choice([0.2, 0.5, 0.52, 0.55, 0.6, 0.9])
        b = [w for w in a if rng.random() < kept] + rng.sample(vocabulary, size // 2)
        title_a, title_b = a[:rng.randint(0, 9)], b[:rng.randint(0, 9)]
        text_a = " ".join(title_a) + " | " + " ".join(sorted(set(a) - set(title_a)))
        text_b = " ".join(title_b) + " | " + " ".join(sorted(set(b) - set(title_b)))
        new, known = StoryProbe(stored_tokens(text_a)), stored_tokens(text_b)
        sketch = new.sketch
        shared = len(new.signature().tokens & set(known.tokens))
        assert (sketch.buckets & known.buckets).bit_count() + sketch.spare >= shared
        titles = len(new.signature().title_tokens & set(known.tokens[:known.titled]))
        assert (sketch.title_buckets & known.title_buckets).bit_count() + sketch.title_spare \
            >= titles
        expected = same_story(signature_from_tokens(text_a), signature_from_tokens(text_b))
        assert same_as_stored(new, known) == expected


def test_a_parse_workers_sketch_equals_the_one_read_from_the_token_text():
    """Workers send each item's story_sketch so the main process need not read its tokens;
    it must be what stored_tokens works out of the stored text, in any process."""
    rng = random.Random(7)
    texts = list(VARIED)
    for title, text in VARIED[:6]:
        texts += zip(_mutations(title, rng), _mutations(text, rng))
    signatures = [sig(title, text) for title, text in texts]
    for signature in signatures:
        text = signature_tokens_text(signature)
        assert stored_tokens(text, story_sketch(signature)) == stored_tokens(text)
        assert stored_tokens(text).tokens == tuple(text.replace("|", " ").split())
    here = [story_sketch(signature) for signature in signatures]
    script = ("import json, sys; from scanner.dedup import signature_from_tokens, story_sketch;"
              "print(json.dumps([story_sketch(signature_from_tokens(t)) for t in "
              "json.loads(sys.stdin.read())]))")
    for seed in ("1", "2"):  # str hashes differ between processes; sketches must not
        other = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True,
            input=json.dumps([signature_tokens_text(s) for s in signatures]),
            env={**os.environ, "PYTHONHASHSEED": seed})
        assert [tuple(sketch) for sketch in json.loads(other.stdout)] == here


def test_signatures_of_a_batch_equal_each_signature_alone():
    """story_signatures takes the min-hashes of a whole batch at once: every signature and
    band key must be story_signature's, whatever mix of items the batch holds."""
    for batch in _batches_of_varied_texts() + [[("", ""), ("", "")]]:
        expected = [sig(title, text) for title, text in batch]
        found = story_signatures(batch)
        assert found == expected
        assert [s.bands for s in found] == [s.bands for s in expected]


def _batches_of_varied_texts() -> list[list[tuple[str, str]]]:
    rng = random.Random(3)
    texts = list(VARIED)
    for title, text in VARIED[:6]:
        texts += zip(_mutations(title, rng), _mutations(text, rng))
    long_title = " ".join(f"ord{n}" for n in range(300))  # padded to, it would waste the table
    batches = [texts, texts[::-1], [("", "")], [(PRESS_TITLE, "")], [("", PRESS_TEXT)],
               [("Ny", ""), ("", PRESS_TEXT), ("", "")], [], texts + [(long_title, "")] + texts,
               [(PRESS_TITLE, long_title)] + texts[:3]]
    return batches + [rng.sample(texts, rng.randint(1, len(texts))) for _ in range(5)]


def test_story_fields_equal_what_the_signatures_give():
    """story_fields works out an item's token text, band keys and sketch without building its
    signature: each must be what the signature gives, whatever mix of items the batch holds."""
    for batch in _batches_of_varied_texts():
        expected = [(signature_tokens_text(s), s.bands, story_sketch(s))
                    for s in (sig(title, text) for title, text in batch)]
        assert [tuple(fields) for fields in story_fields(batch)] == expected


def test_band_keys_are_the_minima_of_each_tokens_hashes():
    """The band keys, worked out the plain way: every token's SHAKE-128 lanes (15 bits each),
    each lane's minimum over the tokens, three minima to a band, in hex. Stored keys depend on
    every step, so this pins them whatever way the code takes the minima."""
    for title, text in [pair for batch in _batches_of_varied_texts()[:1] for pair in batch]:
        s = sig(title, text)
        expected = _plain_keys("b", s.tokens, STORY_BANDS) if s.tokens else ()
        if len(s.title_tokens) >= SHARED_TOKENS:
            expected += _plain_keys("t", s.title_tokens, TITLE_BANDS)
        assert s.bands == expected


def _plain_keys(prefix: str, tokens: frozenset[str], bands: int) -> tuple[str, ...]:
    lanes = [np.frombuffer(hashlib.shake_128(token.encode()).digest(2 * 72), ">u2") & 0x7FFF
             for token in tokens]
    minima = [int(value) for value in np.min(lanes, axis=0)]
    return tuple(f"{prefix}{band}:" + "".join(f"{m:04x}" for m in minima[3 * band:3 * band + 3])
                 for band in range(bands))


def test_row_minima_in_halves_equal_numpys_reduce():
    rng = np.random.default_rng(2)
    for width in range(1, 70):
        rows = rng.integers(0, 1 << 16, (3, width, 73), dtype=np.uint16)
        assert (_row_minima(rows) == np.minimum.reduce(rows, axis=1)).all()
