"""Keyword rules: Swedish-aware matching, scores, roll-up, vetoes, relevance, robustness."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from textwrap import dedent

import pytest

from scanner.classify.rules import RATE, THRESHOLD, RuleHit, RuleMatcher, _code, round4
from scanner.classify.taxonomy import load_taxonomy, parse_taxonomy_text
from scanner.classify.text import _TOKEN, fold, parse_keyword, stem, tokens
from scanner.plaintext import PLAIN_MARKS

ROOT = Path(__file__).resolve().parents[2]
LABELLED = ROOT.parent / "shared" / "data" / "labelled.jsonl"

SMALL = """\
relevance:
  keywords: ["*bibliotek*", läsning, "*böcker*"]
tags:
  - id: lasframjande
    label_sv: Läsfrämjande
    priority: 1
    keywords: [läsfrämj*, högläsning, bokcirkel*]
    children:
      - id: bokstart
        label_sv: Bokstart
        keywords: [bokstart, små barns språkutveckling]
  - id: utveckling
    label_sv: Utveckling
    priority: 2
    keywords: ["*bibliotek*"]
  - id: suffix
    label_sv: Suffix
    priority: 3
    keywords: ["*bibliotek"]
  - id: styrning
    label_sv: Styrning
    priority: 1
    keywords: [nationell biblioteksstrategi, bibliotek, budget*, nedläggning*]
  - id: trygghet
    label_sv: Trygghet
    priority: 2
    keywords: [ordningsvakt*, hot mot personal*, stök*]
    exclude: [censur*]
  - id: spraket
    label_sv: Språk
    priority: 1
    keywords: [språkcafé*, "*språk", modersmål]
    exclude: [vetoord]
    children:
      - id: samiska
        label_sv: Samiska
        keywords: [samisk*]
"""


@pytest.fixture(scope="module")
def matcher() -> RuleMatcher:
    return RuleMatcher(parse_taxonomy_text(SMALL))


@pytest.fixture(scope="module")
def shipped() -> RuleMatcher:
    return RuleMatcher(load_taxonomy(ROOT / "taxonomy.yaml"))


def terms(hits: dict[str, RuleHit], tag: str) -> tuple[str, ...]:
    return hits[tag].terms if tag in hits else ()


# --- text helpers -----------------------------------------------------------------------------


def test_fold_keeps_swedish_letters_and_drops_decoration():
    assert fold("ÅÄÖ Läsfrämjande") == "åäö läsfrämjande"
    assert fold("Café Sápmi naïve") == "cafe sapmi naive"
    assert fold("Bøker på Ærø") == "böker på ärö"
    assert fold("a\u030angstrom") == "ångstrom"  # decomposed å is composed first


def test_tokens_split_on_punctuation_like_swedish_writing_does():
    assert tokens("E-böcker, KB:s «nya» rapport – 2024!") == [
        "e", "böcker", "kb", "s", "nya", "rapport", "2024"]
    assert tokens("snake_case och\u00a0nbsp") == ["snake", "case", "och", "nbsp"]
    assert tokens("☺ bok ☺") == ["bok"]
    assert tokens("") == []


@pytest.mark.parametrize("text", [
    "Läs – mer ”här” • 10 § «citat» …\u00a0slut", "ÅRETS BOK är Äntligen Örebros", "IDÉ och idé",
    "Café Sápmi naïve", "Bøker på Ærø", "Straße", "av\u00adstav\u00adning", "x² ⓫ ſ İ",
    "lone \ud800 surrogate", "tabs\tand\nlines, KB:s 2024-rapport",
])
def test_tokens_are_the_runs_of_letters_and_digits_of_the_folded_text(text):
    assert tokens(text) == _TOKEN.findall(fold(text))


def test_tokens_of_random_text_are_those_of_the_regex():
    rng = random.Random(8)
    plain = list("abXYZ 019.,-:;'_<&\n") + list("åäöéÅÄÖÉ") + list(PLAIN_MARKS)
    anything = [chr(c) for c in range(0x3000)] + ["\ud800", "\U0001f600", "\u0307"]
    for alphabet in (plain, plain + list("éüæøß\u00ad"), plain + anything):
        for _ in range(3000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
            assert tokens(text) == _TOKEN.findall(fold(text)), repr(text)


def test_snowball_stems_swedish_inflections():
    assert stem("biblioteken") == stem("bibliotekens") == stem("bibliotek") == "bibliotek"


def test_parse_keyword_kinds():
    kinds = [(atom.kind, atom.text) for atom in parse_keyword("Läsfrämj* *bibliotek* *plan e-bok*")]
    assert kinds == [("prefix", "läsfrämj"), ("infix", "bibliotek"), ("suffix", "plan"),
                     ("word", "e"), ("prefix", "bok")]


# --- matching ---------------------------------------------------------------------------------


def test_prefix_wildcard_matches_compounds(matcher):
    hits = matcher.match("", "Kommunen satsar på läsfrämjandeinsatser i hela länet.")
    assert terms(hits, "lasframjande") == ("läsfrämj*",)


def test_infix_wildcard_matches_inside_compounds(matcher):
    hits = matcher.match("", "Regionen ansvarar för folkbiblioteksutveckling.")
    assert terms(hits, "utveckling") == ("*bibliotek*",)
    assert "suffix" not in hits  # folkbiblioteksutveckling does not end in bibliotek


def test_suffix_wildcard_matches_compounds_and_their_inflections(matcher):
    for text in ("Folkbibliotek i Dalarna", "Folkbiblioteken i Dalarna",
                 "Skolbibliotekens framtid"):
        assert terms(matcher.match("", text), "suffix") == ("*bibliotek",), text


def test_plain_word_matches_its_inflections_by_stem(matcher):
    for text in ("Biblioteken öppnar", "Bibliotekens roll", "Ett bibliotek", "BIBLIOTEKET"):
        assert "bibliotek" in terms(matcher.match("", text), "styrning"), text
    assert "styrning" not in matcher.match("", "Bibliotekarien svarar")  # another word


def test_short_stems_match_only_exactly():
    short = RuleMatcher(parse_taxonomy_text(dedent("""\
        relevance:
          keywords: [bok, boken, samer]
        tags:
          - {id: a, label_sv: A, priority: 1, keywords: [bok]}
        """)))
    assert short.relevance("Boka tid för vaccination", "Du bokar på webben.") == ()
    assert short.relevance("Samma sak", "Same procedure as last year") == ()
    assert short.relevance("En bok om samer", "") == ("bok", "samer")
    assert short.relevance("", "Boken") == ("boken",)


def test_phrase_matches_consecutive_words_in_any_inflection(matcher):
    hits = matcher.match("", "Förslaget till nationella biblioteksstrategi lämnades i dag.")
    assert "nationell biblioteksstrategi" in terms(hits, "styrning")
    for text in ("En nationell plan för biblioteksstrategi", "Biblioteksstrategi, nationell"):
        assert "nationell biblioteksstrategi" not in terms(matcher.match("", text), "styrning")


def test_phrase_with_wildcard_and_repeats(matcher):
    text = "Hot mot personalen ökar. Hot mot personal är ett problem."
    hits = matcher.match("", text)
    assert terms(hits, "trygghet") == ("hot mot personal*",)
    once = matcher.match("", "Hot mot personalen ökar.")["trygghet"].score
    assert hits["trygghet"].score > once


def test_phrases_at_the_edges_of_a_text(matcher):
    phrase = "hot mot personal*"
    for text in ("hot mot personal", "Hot mot personalen", "x hot mot personalen",
                 "hot mot personal x", "mot personal hot mot personalen hot mot"):
        assert terms(matcher.match("", text), "trygghet") == (phrase,), text
    for text in ("mot personal", "hot mot", "personal hot mot", "hot x mot personal"):
        assert phrase not in terms(matcher.match("", text), "trygghet"), text
    counted = matcher.match("", "hot mot personal hot mot personal")["trygghet"].score
    assert counted > matcher.match("", "hot mot personal")["trygghet"].score


def test_case_and_swedish_letters(matcher):
    assert "lasframjande" in matcher.match("LÄSFRÄMJANDE", "")
    assert "lasframjande" not in matcher.match("lasframjande", "")  # ä is not a
    assert terms(matcher.match("", "Språkcafe varje tisdag"), "spraket") == ("språkcafé*",)
    assert terms(matcher.match("", "Modersmålet och modersmål"), "spraket") == ("modersmål",)


def test_exclude_vetoes_the_tag(matcher):
    text = "Ordningsvakter på biblioteket efter stök."
    assert matcher.match("Ordningsvakter", text)["trygghet"].score > THRESHOLD
    assert "trygghet" not in matcher.match("", text + " Debatten gäller censur av böcker.")
    assert "trygghet" not in matcher.match("Censuren", text)


def test_children_roll_up_and_both_are_reported(matcher):
    hits = matcher.match("Bokstart i Västernorrland", "Bokstart stöder små barns språkutveckling.")
    assert {"bokstart", "lasframjande"} <= hits.keys()
    assert hits["lasframjande"].terms == hits["bokstart"].terms
    assert set(hits["bokstart"].terms) == {"bokstart", "små barns språkutveckling"}
    assert hits["lasframjande"].score == hits["bokstart"].score


def test_parent_adds_its_own_evidence_to_the_childs(matcher):
    hits = matcher.match("", "Bokstart och högläsning för de minsta.")
    assert hits["lasframjande"].score > hits["bokstart"].score
    assert set(hits["lasframjande"].terms) == {"bokstart", "högläsning"}


def test_a_parents_veto_covers_its_children(matcher):
    hits = matcher.match("", "Samisk litteratur och språkcafé. Vetoord.")
    assert "spraket" not in hits and "samiska" not in hits
    hits = matcher.match("", "Samisk litteratur och språkcafé.")
    assert {"spraket", "samiska"} <= hits.keys()


def test_title_weighs_more_than_text(matcher):
    in_title = matcher.match("Budgeten för biblioteken", "")["styrning"]
    in_text = matcher.match("", "Budgeten för biblioteken")["styrning"]
    assert in_title.score > in_text.score
    assert matcher.match("Nedläggning hotar", "")["styrning"].score >= THRESHOLD
    assert matcher.match("", "nedläggning hotar")["styrning"].score < THRESHOLD


def test_distinct_terms_weigh_more_than_one_repeated(matcher):
    repeated = matcher.match("", "budget budget budget")["styrning"].score
    distinct = matcher.match("", "budget nedläggning bibliotek")["styrning"].score
    assert 0 < repeated < distinct < 1
    assert matcher.match("", "budget")["styrning"].score < repeated


def test_words_sharing_a_stem_count_once_across_keywords(matcher):
    one = matcher.match("", "biblioteket")["utveckling"].score
    assert matcher.match("", "biblioteket biblioteken")["utveckling"].score < 2 * one


def test_keywords_matching_the_same_word_are_one_piece_of_evidence_naming_each():
    def hit(keywords: str):
        taxonomy = parse_taxonomy_text(
            f"tags:\n  - id: x\n    label_sv: X\n    priority: 1\n    keywords: [{keywords}]\n")
        return RuleMatcher(taxonomy).match("Biblioteket", "biblioteket bibliotekens")["x"]

    three = hit('"bibliotek*", "*bibliotek", bibliotek')
    assert three.terms == ("*bibliotek", "bibliotek", "bibliotek*")
    assert three.score == hit("bibliotek").score


def test_scores_are_between_zero_and_one_and_sorted(matcher):
    text = " ".join(["budget nedläggning bibliotek nationell biblioteksstrategi"] * 50)
    hits = matcher.match("Budget och nedläggning", text)
    assert all(0 < hit.score <= 1 for hit in hits.values())
    scores = [hit.score for hit in hits.values()]
    assert scores == sorted(scores, reverse=True)
    assert isinstance(next(iter(hits.values())), RuleHit)


# --- relevance --------------------------------------------------------------------------------


def test_relevance_terms_and_gating(matcher):
    assert matcher.relevance("Biblioteket byggs om", "") == ("*bibliotek*",)
    assert matcher.relevance("Vägarbete på riksväg 70", "Trafiken leds om i två veckor.") == ()
    assert not matcher.is_relevant("Budget för vägar", "Kommunen lägger budget på vägar.")
    assert matcher.tags("Budget för vägar", "Kommunen lägger budget och nedläggning.") == {}
    assert "styrning" in matcher.tags("Budget för biblioteken", "nedläggning av bibliotek")


def test_without_relevance_keywords_everything_is_relevant():
    bare = RuleMatcher(parse_taxonomy_text(dedent("""\
        tags:
          - {id: mik, label_sv: MIK, priority: 2, keywords: [källkritik*]}
        """)))
    assert bare.is_relevant("Vad som helst", "")
    assert "mik" in bare.tags("Källkritik", "källkritiska frågor")


def test_weight_zero_turns_a_tags_rules_off():
    off = RuleMatcher(parse_taxonomy_text(dedent("""\
        tags:
          - {id: mik, label_sv: MIK, priority: 2, keywords: [källkritik*], weight: 0}
          - {id: demokrati, label_sv: D, priority: 1, keywords: [censur*], weight: 2}
        """)))
    hits = off.match("Källkritik", "censur")
    assert "mik" not in hits
    normal = RuleMatcher(parse_taxonomy_text(dedent("""\
        tags:
          - {id: demokrati, label_sv: D, priority: 1, keywords: [censur*]}
        """))).match("", "censur")
    assert hits["demokrati"].score > normal["demokrati"].score


# --- robustness -------------------------------------------------------------------------------


def test_empty_and_title_only_items(matcher):
    assert matcher.match("", "") == {}
    assert matcher.relevance("", "") == ()
    assert matcher.tags("", "") == {}
    assert "lasframjande" in matcher.match("Läsfrämjande i Kalmar", "")


def test_html_looking_text_is_read_as_text(matcher):
    text = ('<p class="ingress">Kommunen inför <b>ordningsvakter</b> på '
            '<a href="https://example.se/censur">biblioteket</a> &amp; fritidsgården.</p>')
    hits = matcher.match("", text)
    assert "trygghet" in hits  # the link target is not a word of the text: no veto
    assert matcher.relevance("", text) == ("*bibliotek*",)


def test_a_mention_in_a_megabyte_of_text_counts_less(matcher):
    filler = "Vi ses på torsdag när kören övar i församlingshemmet. " * 20_000
    big = "Nedläggning av biblioteket diskuteras. " + filler
    assert len(big) > 1_000_000
    hits = matcher.match("", big)
    assert hits["styrning"].score < matcher.match("", "Nedläggning av biblioteket.")[
        "styrning"].score


def test_many_different_items_reuse_the_token_cache(matcher):
    for number in range(2000):
        matcher.match(f"Nyhet {number}", f"Budget nummer {number} för biblioteket")
    assert matcher.match("", "budget")["styrning"].score > 0


# --- the shipped taxonomy on texts written for these tests ------------------------------------

EXAMPLES = [
    ("Två biblioteksfilialer läggs ner", "Kommunen måste spara pengar och föreslår att "
     "filialerna stängs. Kulturnämnden beslutar i mars om budgeten.", {"styrning-finansiering"}),
    ("Nu kan fler låna talböcker", "Biblioteket hjälper dig att bli användare av Legimus. "
     "Talböcker är till för dig med läsnedsättning, till exempel dyslexi.", {"tillganglighet"}),
    ("Språkcafé för nyanlända", "Varje onsdag träffas vi på biblioteket och pratar svenska. "
     "Alla som vill öva svenska som andraspråk är välkomna.", {"sprak-minoriteter"}),
    ("Lär dig känna igen desinformation", "Biblioteket bjuder in till en kväll om källkritik "
     "och falska nyheter i sociala medier.", {"mik"}),
    ("Biblioteket blir meröppet", "Från hösten kan du besöka biblioteket med lånekort och "
     "pinkod även när personalen har gått hem; öppettiderna utökas till 7–22.",
     {"verksamhetsutveckling"}),
    ("Få hjälp med BankID och e-tjänster", "Digitalhjälpen på biblioteket hjälper dig som "
     "vill bli säkrare på mobilt BankID, Swish och kommunens e-tjänster.",
     {"digital-delaktighet"}),
    ("Biblioteket i totalförsvaret", "Hur ska folkbiblioteken arbeta med beredskap och "
     "krisberedskap inför höjd beredskap?", {"beredskap"}),
    ("Ordningsvakter på stadsbiblioteket", "Efter flera fall av hot och våld mot personalen "
     "anställs ordningsvakter på kvällarna.", {"trygghet"}),
    ("Sommarboken lockade 400 barn", "Under sommarlovet läste barnen i kommunen tusentals "
     "böcker. Läsfrämjande verksamhet för barn och unga är prioriterad.",
     {"barn-unga", "lasframjande"}),
]


@pytest.mark.parametrize("title, text, expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_shipped_taxonomy_tags_typical_items(shipped, title, text, expected):
    assert expected <= set(shipped.tags(title, text))


@pytest.mark.parametrize("title, text", [
    ("Vägarbete på E4 vid Gävle", "Trafiken leds om under två veckor medan bron repareras."),
    ("Matchen slutade 2–1", "Hemmalaget avgjorde i slutminuten inför 3 000 åskådare."),
    ("Road works in the city centre", "Traffic will be diverted for two weeks."),
    ("Boka tid för bygglovsrådgivning", "Du bokar enklast på webben. Läs mer om bygglov här."),
    ("Årsredovisning och bokslut 2023", "Kommunen gick med överskott. Bokföringen granskas."),
    ("Sommarjobb för unga", "Läs mer och ansök senast 1 mars. Vi söker ungdomar till parkerna."),
])
def test_shipped_taxonomy_leaves_unrelated_items_untagged(shipped, title, text):
    assert shipped.relevance(title, text) == ()
    assert shipped.tags(title, text) == {}


@pytest.mark.skipif(not LABELLED.is_file(), reason="labelled data (../shared/data) not present")
def test_rules_alone_on_the_labelled_items_stay_good(shipped):
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    tp = fp = fn = 0
    for row in rows:
        predicted, gold = set(shipped.tags(row["title"], row["text"])), set(row["tags"])
        tp, fp, fn = tp + len(predicted & gold), fp + len(predicted - gold), fn + len(gold - predicted)
    micro = 2 * tp / (2 * tp + fp + fn)
    assert micro >= 0.70, f"rules-alone micro-F1 dropped to {micro:.3f}"
    assert sum(shipped.is_relevant(row["title"], row["text"]) for row in rows) >= 0.95 * len(rows)


def test_round4_is_round_to_four_decimals():
    rng = random.Random(4)
    ties = [(k + 0.5) / 10_000 for k in range(0, 10_001, 7)]
    samples = ([rng.random() for _ in range(100_000)] + [rng.uniform(0, 50) for _ in range(20_000)]
               + [rng.randint(0, 10_000) / 10_000 for _ in range(5_000)] + ties
               + [math.nextafter(t, d) for t in ties for d in (0.0, 1.0)]
               + [0.0, -0.0, -0.25, 1.0, 0.99995, 0.00005, 1e-300, 5e-5, 1e7, math.inf, -math.inf])
    for x in samples:
        assert repr(round4(x)) == repr(round(x, 4)), x
    assert math.isnan(round4(math.nan))


def _phrase_vocabulary(shipped) -> list[str]:
    """The words of the shipped phrases and a few others: random texts of them hit phrases."""
    phrase_words = [word for term in shipped._terms if len(term.atoms) > 1
                    for word in tokens(term.label.replace("*", ""))]
    return phrase_words + ["och", "en", "biblioteket", "läsfrämjande", "xyz", "2024"]


def test_counts_are_those_of_every_term_tried_at_every_place(shipped):
    """_count against its definition: each word's one-word terms, and each phrase wherever all
    its words stand at consecutive places (keyed by the unit of its last word)."""
    index = shipped._index
    vocabulary = _phrase_vocabulary(shipped)
    rng = random.Random(8)
    for _ in range(400):
        words = rng.choices(vocabulary, k=rng.randint(0, 40))
        members = [frozenset(index._find(word, stem(word))) for word in words]
        expected: dict = {}
        for place, word in enumerate(words):
            for term, position in members[place]:
                if index.sizes[term] == 1:
                    key = (term, "" if index.pooled[term] else stem(word))
                    expected[key] = expected.get(key, 0) + 1
            for term, size in enumerate(index.sizes):
                end = place + size - 1
                if size > 1 and end < len(words) and all(
                        (term, p) in members[place + p] for p in range(size)):
                    key = (term, stem(words[end]))
                    expected[key] = expected.get(key, 0) + 1
        assert shipped._count(words) == expected, words


def test_scores_are_those_of_the_summed_evidence(shipped):
    from scanner.classify import bundled_examples

    weights = {tag.id: tag.weight for tag in shipped.taxonomy.tags}
    checked = 0
    for example in bundled_examples():
        found = shipped.evidence(example.title, example.text)
        for tag, units in found._units.items():
            evidence = sum([value for value, _ in units.values()]) * weights[tag]
            assert found.scores[tag] == round(1.0 - math.exp(-RATE * evidence), 4)
            checked += 1
    assert checked > 500


def test_text_values_are_the_formula_computed_one_by_one():
    from scanner.classify.rules import REPEAT, _text_values

    rng = random.Random(11)
    for _ in range(300):
        counts = {(k, "u"): rng.choice([1, 2, 3, rng.randint(1, 300), rng.randint(250, 5000)])
                  for k in range(rng.randint(0, 30))}
        scale = rng.choice([1.0, rng.random(), math.sqrt(300 / rng.randint(301, 20_000))])
        expected = {key: (1.0 + REPEAT * math.log(n) if n > 1 else 1.0) * scale
                    for key, n in counts.items()}
        got = _text_values(dict(counts), scale)
        assert list(got) == list(expected)
        assert [repr(v) for v in got.values()] == [repr(v) for v in expected.values()]


def test_remembered_scores_are_those_computed_afresh(shipped):
    from scanner.classify import bundled_examples
    from scanner.classify.rules import _SCORE_OF

    weights = {tag.id: tag.weight for tag in shipped.taxonomy.tags}
    for _ in range(2):  # the second round reads the scores the first one remembered
        for example in bundled_examples()[:200]:
            found = shipped.evidence(example.title + " ", example.text)
            for tag, units in found._units.items():
                evidence = sum([value for value, _ in units.values()]) * weights[tag]
                assert repr(found.scores[tag]) == repr(round4(1.0 - math.exp(-RATE * evidence)))
    assert _SCORE_OF


def test_evidence_is_grouped_by_role_owner_and_unit(shipped):
    """_evidence against its definition: per (term, unit) the text's and title's values
    added, then per role, owner and unit the largest value and the sorted labels."""
    from scanner.classify.rules import REPEAT, TITLE_WEIGHT

    rng = random.Random(12)
    terms = shipped._terms
    for _ in range(300):
        keys = [(rng.randrange(len(terms)), rng.choice(["a", "b", ""])) for _ in range(20)]
        text = {key: rng.randint(1, 6) for key in keys[:rng.randint(0, 20)]}
        title = {key: 1 for key in rng.sample(keys, rng.randint(0, 5))}
        tokens_in_text = rng.choice([10, 300, 1200])
        scale = min(1.0, math.sqrt(300 / tokens_in_text))
        values = {key: (1.0 + REPEAT * math.log(n) if n > 1 else 1.0) * scale
                  for key, n in text.items()}
        for key in title:
            values[key] = values.get(key, 0.0) + TITLE_WEIGHT
        expected: dict = {}
        for (term, unit), value in values.items():
            units = expected.setdefault(terms[term].role, {}).setdefault(terms[term].owner, {})
            if unit in units:
                old, labels = units[unit]
                units[unit] = (max(old, value), tuple(sorted({*labels, terms[term].label})))
            else:
                units[unit] = (value, (terms[term].label,))
        assert shipped._evidence(title, dict(text), tokens_in_text) == expected


def counted_phrase_by_phrase(matcher, words: list[str]) -> dict:
    """_count as it was before runs of phrases were passed over at once: every phrase of an
    anchor tried at every place of it, in order (the order of the counts decides the order in
    which evidence is added up)."""
    from collections import Counter

    index, counts = matcher._index, {}
    occurrences = Counter(words)
    refs = {word: frozenset(index._find(word, stem(word))) for word in occurrences}
    for word in index.matching(occurrences.keys()):
        entry = index.active[word]
        for key in entry.singles:
            counts[key] = counts.get(key, 0) + occurrences[word]
        anchored = [t for t, p in refs[word] if index.sizes[t] > 1 and p == index.anchors[t]]
        place = -1
        for _ in range(occurrences[word] if anchored else 0):
            place = words.index(word, place + 1)
            for term in anchored:
                start = place - index.anchors[term]
                end = start + index.sizes[term] - 1
                if start >= 0 and end < len(words) and all(
                        (term, p) in refs[words[start + p]] for p in range(index.sizes[term])):
                    key = (term, stem(words[end]))
                    counts[key] = counts.get(key, 0) + 1
    return counts


def test_counts_come_in_the_order_of_trying_every_phrase_at_every_place(shipped):
    index = shipped._index
    vocabulary = _phrase_vocabulary(shipped)
    rng = random.Random(9)
    for _ in range(1500):
        words = rng.choices(vocabulary, k=rng.randint(0, 60))
        assert list(shipped._count(words).items()) == \
            list(counted_phrase_by_phrase(shipped, words).items()), words
    assert any(len(entry.anchors) < sum(len(run) for _, run in entry.anchors)
               for entry in index.active.values())  # some runs hold several phrases


def test_a_words_terms_are_found_as_by_trying_every_prefix_and_suffix(shipped):
    index = shipped._index

    def found_by_every_length(word: str, stemmed: str) -> list:
        found = [*index.text.get(word, ()), *index.stem.get(stemmed, ())]
        for length in index.prefix_lengths:
            if length <= len(word):
                found += index.prefix.get(word[:length], ())
        for form in {word, stemmed}:
            for length in index.suffix_lengths:
                if length <= len(form):
                    found += index.suffix.get(form[-length:], ())
        return found + [ref for infix, ref in index.infix if infix in word]

    keys = [*index.prefix, *index.suffix, *index.text, *(infix for infix, _ in index.infix)]
    rng = random.Random(10)
    words = ["", "a", "bi", "bib", "bibl", "x" * 30] + keys
    for _ in range(3000):
        key = rng.choice(keys)
        words.append(rng.choice(["", "ab", "kommun"]) + key + rng.choice(["", "en", "arna"]))
        words.append(key[:rng.randint(0, len(key))])
    for word in words:
        stemmed = stem(word) if word else word
        assert index._find(word, stemmed) == found_by_every_length(word, stemmed), word


def test_ranked_terms_are_the_labels_of_the_strongest_evidence_first():
    from scanner.classify.rules import _ranked

    rng = random.Random(13)
    for _ in range(2000):
        units = {f"u{k}": (rng.choice([0.5, 1.0, 2.5, rng.random()]),
                           tuple(sorted(rng.sample("abcdef", rng.randint(1, 3)))))
                 for k in range(rng.randint(0, 6))}
        ordered = sorted(units.values(), key=lambda item: (-item[0], item[1]))
        expected = tuple(dict.fromkeys(label for _, labels in ordered for label in labels))
        assert _ranked(units) == expected


def test_without_nested_tags_the_roll_up_only_drops_vetoed_tags(shipped):
    import copy

    from scanner.classify import bundled_examples

    assert not shipped._nested
    merging = copy.copy(shipped)
    merging._nested = True  # the general path: each tag merged into its lineage, itself
    vetoes = 0
    for example in bundled_examples()[:300]:
        evidence = shipped._scan(example.title, example.text)
        found = evidence.get("keyword", {})
        vetoed = set(evidence.get("exclude", ()))
        vetoes += bool(vetoed)
        for dropped in (vetoed, vetoed | set(list(found)[:1])):
            assert list(shipped._roll_up(found, dropped).items()) == \
                list(merging._roll_up(found, dropped).items())
    assert vetoes


def test_rule_evidence_built_directly_equals_that_of_its_init():
    from scanner.classify.rules import RuleEvidence, _rule_evidence

    units = {"lasframjande": {"läs": (1.0, ("läsfrämj*",))}}
    direct, made = _rule_evidence({"lasframjande": 0.26}, True, units), \
        RuleEvidence({"lasframjande": 0.26}, True, units)
    assert direct == made and list(vars(direct)) == list(vars(made))
    assert direct.terms("lasframjande") == ("läsfrämj*",)


def test_evidence_of_words_equals_the_evidence_with_its_relevance_terms(shipped):
    from scanner.classify import bundled_examples
    from scanner.classify.rules import words_of

    examples = [(e.title, e.text) for e in bundled_examples()]
    examples += [("Matchen slutade oavgjort", "Målvakten räddade två straffar."), ("", "")]
    relevant = 0
    for title, text in examples:
        found = shipped.evidence_of_words(words_of(title), words_of(text))
        expected = shipped.evidence(title, text)
        assert (found.scores, found.relevant, found._units) == \
            (expected.scores, expected.relevant, expected._units)
        relevant += found.relevant
    assert 0 < relevant < len(examples)


def _refs_by_definition(index, word: str) -> frozenset:
    """The (term, position) refs a word matches, every key of the index tried: the word or its
    stem, a prefix it starts with, a suffix it or its stem ends with, an infix it holds."""
    stemmed = stem(word)
    found = {*index.text.get(word, ()), *index.stem.get(stemmed, ())}
    found.update(ref for key, refs in index.prefix.items() if word.startswith(key)
                 for ref in refs)
    found.update(ref for key, refs in index.suffix.items()
                 if word.endswith(key) or stemmed.endswith(key) for ref in refs)
    found.update(ref for infix, ref in index.infix if infix in word)
    return frozenset(found)


def _learning_vocabulary(shipped) -> list[str]:
    """Words of the bundled examples and of the shipped keywords, inflected and compounded."""
    from scanner.classify import bundled_examples
    words = {word for example in bundled_examples()
             for word in tokens(example.title) + tokens(example.text)}
    endings, starts = ("", "en", "ens", "er", "erna", "s", "ar"), ("skol", "folk", "x")
    for term in shipped._terms:
        for atom in term.atoms:
            words.update(atom.text + ending for ending in endings)
            words.update(start + atom.text for start in starts)
    return sorted(words)


def test_stems_start_their_words(shipped):
    """What _learn's shortcut rests on: Snowball only cuts endings."""
    vocabulary = _learning_vocabulary(shipped)
    assert len(vocabulary) > 3000
    assert all(word.startswith(stem(word)) for word in vocabulary)


def test_words_learnt_without_their_stem_match_what_every_key_tried_would(shipped):
    """_learn stems a word only where its stem can match (or the word matches something): the
    words it learns match the refs of the definition, with the stem as their unit."""
    index = RuleMatcher(shipped.taxonomy)._index
    vocabulary = _learning_vocabulary(shipped)
    stemmed_only_where_needed = 0
    for word in vocabulary:
        index._learn(word)
        refs = _refs_by_definition(index, word)
        entry = index.hits.get(word)
        assert (entry.members if entry else frozenset()) == frozenset(map(_code, refs)), word
        assert entry is None or entry.unit == stem(word)
        stemmed_only_where_needed += not index._stem_can_match(word)
    assert stemmed_only_where_needed > len(vocabulary) // 2  # the shortcut is taken
