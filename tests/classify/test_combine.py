"""Tagger: rules alone, rules plus model, why strings, source tags, awkward input."""

import gc
import random
from datetime import datetime, timezone

import numpy as np
import pytest

from scanner.classify.combine import (
    Blend,
    Tagger,
    TaggingError,
    blend_scores,
    cyclic_gc_paused,
    fit_blend,
    fit_tagger,
    item_words,
    model_strength,
)
from scanner.classify.combine import _prepare as prepare
from scanner.classify.features import _tokens, model_text
from scanner.classify.labels import LabelledText
from scanner.classify.model import TagModel
from scanner.classify.rules import RuleMatcher, words_of
from scanner.plaintext import PLAIN_MARKS
from scanner.classify.taxonomy import parse_taxonomy_text

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
TAXONOMY_YAML = """
relevance:
  keywords: ["*bibliotek*", "läs*", "bok*", "librar*"]
tags:
  - id: lasning
    label_sv: Läsning
    priority: 1
    keywords: [läsfrämj*, bokcirk*, högläs*, reading]
  - id: digital
    label_sv: Digital delaktighet
    priority: 1
    keywords: [bankid, e-tjänst*, digital delaktighet]
  - id: pengar
    label_sv: Pengar
    priority: 2
    keywords: [budget*, statsbidrag*]
"""
TOPIC_WORDS = {
    "lasning": "läsfrämjande bokcirkel högläsning författarbesök läslust sommarboken".split(),
    "digital": "bankid e-tjänster surfplatta datorhjälp digitala mobilen".split(),
    "pengar": "budgeten nedskärningar statsbidrag besparingar anslaget kostnader".split(),
}
OFF_TOPIC = "fotboll matchen målvakten trafiken vägarbete vädret regnet halkan".split()
FILLER = "kommunen veckan arbetet under året också tillsammans många nya flera stora".split()


def synthetic(n: int = 90, seed: int = 0) -> list[LabelledText]:
    rng, examples = random.Random(seed), []
    for i in range(n):
        tags = tuple(rng.sample(sorted(TOPIC_WORDS), rng.choice([1, 1, 2]))) if i % 5 else ()
        pool = [w for t in tags for w in TOPIC_WORDS[t]] or OFF_TOPIC
        title = " ".join(rng.sample(pool, 2) + rng.sample(FILLER, 2))
        text = " ".join(rng.choice(pool) if rng.random() < 0.3 else rng.choice(FILLER)
                        for _ in range(40))
        text += " på biblioteket" if tags else ""
        examples.append(LabelledText(f"c{seed}-{i}", title, text, f"källa-{i % 6}", "sv", tags,
                                     bool(tags), origin="bundled"))
    return examples


@pytest.fixture(scope="module")
def taxonomy():
    return parse_taxonomy_text(TAXONOMY_YAML)


@pytest.fixture(scope="module")
def rules(taxonomy):
    return RuleMatcher(taxonomy)


@pytest.fixture(scope="module")
def tagger(taxonomy, rules):
    return fit_tagger(taxonomy, rules, synthetic(), NOW)[0]


def test_rules_alone_tag_with_matched_terms(taxonomy, rules):
    decision = Tagger(taxonomy, rules, None).tag(
        "Bokcirkel och högläsning", "Biblioteket startar läsfrämjande bokcirklar.")
    assert decision.relevant and decision.tag_ids == ("lasning",)
    tag = decision.tags[0]
    assert tag.origin == "rule" and 0.5 <= tag.score <= 1.0
    assert tag.why.startswith("träffar: ") and "bokcirk*" in tag.why and "modell" not in tag.why


def test_rules_alone_give_nothing_to_an_off_topic_item(taxonomy, rules):
    decision = Tagger(taxonomy, rules, None).tag("Matchen slutade oavgjort", "Målvakten ...")
    assert not decision.relevant and decision.tags == ()


def test_rules_and_model_together_tag_and_explain(tagger):
    decision = tagger.tag("Bokcirkel och läslust", "Författarbesök och högläsning i kommunen "
                          "på biblioteket, och budgeten för sommarboken.")
    assert decision.relevant and "lasning" in decision.tag_ids
    tag = decision.tags[0]
    assert tag.id == "lasning" and tag.origin in ("rule+model", "model", "rule")
    assert "träffar: " in tag.why and "modell: " in tag.why
    assert tag.why.index("träffar") < tag.why.index("modell")


def test_the_model_finds_tags_the_rules_miss(tagger, taxonomy, rules):
    title, text = "Surfplatta och datorhjälp", "Mobilen och digitala tjänster på biblioteket"
    assert "digital" not in Tagger(taxonomy, rules, None).tag(title, text).tag_ids
    decision = tagger.tag(title, text)
    assert "digital" in decision.tag_ids
    digital = next(t for t in decision.tags if t.id == "digital")
    assert digital.origin == "model" and digital.why.startswith("modell: ")


def test_the_blend_is_tuned_and_kept_with_the_model(tagger):
    assert tagger.model.blend == tagger.model.info.scores["blend"]
    copy = TagModel.from_bytes(tagger.model.to_bytes())
    again = Tagger(tagger.taxonomy, tagger.rules, copy)
    assert again.blend == tagger.blend
    items = [(e.title, e.text, ()) for e in synthetic(12, seed=4)]
    assert again.tag_many(items) == tagger.tag_many(items)


def test_source_tags_are_added_but_do_not_make_an_item_relevant(tagger):
    off = tagger.tag("Matchen slutade oavgjort", "Målvakten räddade", source_tags=("pengar",))
    assert not off.relevant
    assert [(t.id, t.score, t.origin) for t in off.tags] == [("pengar", 1.0, "source")]
    on = tagger.tag("Bokcirkel och högläsning", "läsfrämjande på biblioteket",
                    source_tags=("lasning",))
    lasning = next(t for t in on.tags if t.id == "lasning")
    assert on.relevant and lasning.origin == "source" and "träffar" in lasning.why


@pytest.mark.parametrize("title, text", [
    ("", ""),
    ("Bara en rubrik om bokcirkel", ""),
    ("", "Bara text om högläsning på biblioteket"),
    ("<h1>Bokcirkel</h1>", "<p>Läsfrämjande &amp; högläsning</p><script>alert(1)</script>"),
    ("Libraries and reading", "The library runs reading circles for children."),
    ("Kirjasto", "Kirjastossa on lukupiiri lapsille ja aikuisille."),
    (None, None),
])
def test_awkward_input_gets_a_complete_decision(tagger, title, text):
    decision = tagger.tag(title, text)
    assert decision.relevant == bool(decision.tags)
    assert all(0.0 <= t.score <= 1.0 and t.origin in ("rule", "model", "rule+model")
               for t in decision.tags)


def test_html_is_not_taken_for_words(tagger):
    decision = tagger.tag("<h1>Bokcirkel</h1>", "<p class='bankid'>Läsfrämjande</p>")
    assert "digital" not in decision.tag_ids and "lasning" in decision.tag_ids


def test_a_megabyte_of_text_is_tagged(tagger):
    text = "Högläsning och bokcirkel på biblioteket. " + "Kommunen växer. " * 65_000
    assert len(text) > 1_000_000
    decision = tagger.tag("Läsfrämjande", text)
    assert decision.relevant and "lasning" in decision.tag_ids


def test_batches_equal_single_items_and_use_one_model_call(tagger, monkeypatch):
    items = [(e.title, e.text, ()) for e in synthetic(15, seed=9)]
    singles = [tagger.tag(*item) for item in items]
    calls = []
    original = tagger.model.score_matrix
    monkeypatch.setattr(tagger.model, "score_matrix", lambda pairs, tokens=None:
                        calls.append(1) or original(pairs, tokens))
    assert tagger.tag_many(items) == singles and len(calls) == 1
    assert tagger.tag_many([]) == []


def test_an_items_words_are_split_once_only_where_rules_and_model_read_the_same_words():
    rng = random.Random(5)
    plain = list("abcXYZ 019.,-:;'\n_<&") + list("åäöéÅÄÖÉ") + list(PLAIN_MARKS)
    alphabets = (plain, plain + ["ü", "ß", "\u0301", "Ã", "\U0001f600"],
                 list("abc åäöÅÄÖ.-\n") + list(PLAIN_MARKS))
    shared = 0
    for alphabet in alphabets:
        for _ in range(1500):
            title, text, _, _ = prepare(0, tuple("".join(rng.choices(alphabet, k=rng.randint(0, n)))
                                                 for n in (12, 60)))
            title_words, text_words, model_tokens = item_words(title, text)
            assert (title_words, text_words) == (words_of(title), words_of(text))
            if model_tokens is not None:
                shared += 1
                assert model_tokens == _tokens([model_text(title, text)]), (title, text)
    assert shared > 1000
    assert item_words("Läsfrämjande", "a" * 20_001)[2] is None  # the model cuts the text


def test_a_taxonomy_tag_the_model_was_not_trained_on_is_left_to_the_rules(tagger):
    wider = parse_taxonomy_text(TAXONOMY_YAML.replace("tags:\n", "tags:\n  - id: evenemang\n"
        "    label_sv: Evenemang\n    priority: 2\n    keywords: [författarbesök*]\n", 1))
    widened = Tagger(wider, RuleMatcher(wider), tagger.model)
    item = ("Författarbesök och bokcirkel", "Högläsning och läslust på biblioteket; "
            "författarbesöken lockade många.")
    scores = tagger.model.score_matrix([item])[1]
    expected = model_strength(scores[:, :-1], np.array(list(tagger.model.thresholds.values())))
    strength = widened._strength(scores)
    assert widened.tag_ids[0] == "evenemang" and strength[0, 0] == 0.0
    for j, tag in enumerate(widened.tag_ids[1:], 1):
        assert strength[0, j] == expected[0, tagger.model.tag_ids.index(tag)]
    tags = {tag.id: tag for tag in widened.tag(*item).tags}
    assert tags["evenemang"].origin == "rule" and "modell" not in tags["evenemang"].why
    assert tags["lasning"] == tagger.tag(*item).tags[0]


def test_an_unreadable_item_raises_naming_it(tagger):
    with pytest.raises(TaggingError, match="item 1"):
        tagger.tag_many([("Rubrik", "Text", ()), 42])


def test_language_comes_from_the_item_or_the_injected_detector(taxonomy, rules):
    assert Tagger(taxonomy, rules).tag("Rubrik", "Text", lang="sv").lang == "sv"
    detector = Tagger(taxonomy, rules, detect_language=lambda text: "en")
    assert detector.tag("Libraries", "Reading").lang == "en"
    assert Tagger(taxonomy, rules).tag("Rubrik", "Text").lang == ""


def test_the_language_from_the_rules_words_is_that_of_the_text(tagger, taxonomy, rules):
    from scanner.parse.language import detect_language, language_of_plain

    rng = random.Random(6)
    english = "the library and reading for children in 2024 covid19 i2 é É <b> &amp; _".split()
    items = [(e.title, e.text, ()) for e in synthetic(40, seed=4)]
    items += [(" ".join(rng.choices(english + FILLER, k=4)),
               " ".join(rng.choices(english + FILLER + OFF_TOPIC, k=rng.randint(0, 900))), ())
              for _ in range(60)]
    asked = []
    plain = Tagger(taxonomy, rules, tagger.model, detect_language=detect_language)
    fast = Tagger(taxonomy, rules, tagger.model,
                  detect_language=lambda text: asked.append(text) or detect_language(text),
                  language_of_plain=language_of_plain)
    assert fast.tag_many(items) == plain.tag_many(items)
    assert 0 < len(asked) <= 60  # the plain synthetic items are not read again


def test_no_cyclic_collection_runs_while_a_batch_is_tagged(tagger, taxonomy, rules):
    seen = []
    spy = Tagger(taxonomy, rules, tagger.model,
                 detect_language=lambda text: seen.append(gc.isenabled()) or "sv")
    assert gc.isenabled()
    assert len(spy.tag_many([(e.title, e.text, ()) for e in synthetic(5, seed=3)])) == 5
    assert seen == [False] * 5 and gc.isenabled()
    with pytest.raises(TaggingError):
        spy.tag_many([("Rubrik", "Text", ()), 42])
    assert gc.isenabled()


def test_gc_pauses_nest_and_leave_a_disabled_collector_disabled():
    with cyclic_gc_paused():
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_model_strength_puts_each_threshold_at_one_half():
    scores = np.array([[0.2, 0.1, 0.6, 1.0, 0.0]])
    thresholds = np.array([0.2, 0.4, 0.2, 0.2, 0.2])
    assert np.allclose(model_strength(scores, thresholds), [[0.5, 0.125, 0.75, 1.0, 0.0]])


def test_blend_gives_tags_by_model_by_rules_or_by_agreement():
    blend = Blend(model_alone=0.5, rule_alone=0.8, weight=0.5, agree=0.45)
    rule = np.array([[0.0, 0.9, 0.5, 0.4, 0.0]])
    strength = np.array([[0.6, 0.0, 0.45, 0.2, 0.3]])
    given, score, origin = blend_scores(rule, strength, blend)
    assert given.tolist() == [[True, True, True, False, False]]
    assert origin[0, :3].tolist() == [2, 1, 3]
    assert score[0, 1] == pytest.approx(0.9)


def test_fit_blend_prefers_what_the_out_of_fold_scores_support():
    rng = np.random.default_rng(0)
    gold = rng.random((200, 4)) < 0.3
    rule = np.where(gold, 0.9, 0.3) * (rng.random((200, 4)) < 0.8)  # rules reliable
    strength = rng.random((200, 4))  # model noise
    relevant = gold.any(axis=1)
    blend = fit_blend(rule, strength, gold, np.ones(200), relevant, relevant)
    assert blend.rule_alone <= 0.9 and blend.model_alone > 1.0


def test_tag_scores_and_decisions_built_directly_equal_those_of_their_init():
    import pickle

    from scanner.classify.combine import TagDecision, TagScore, _decision, _tag_score

    direct, made = _tag_score("lasning", 0.5123, "träffar: x", "rule"), \
        TagScore("lasning", 0.5123, "träffar: x", "rule")
    assert direct == made and hash(direct) == hash(made) and vars(direct) == vars(made)
    assert list(vars(direct)) == list(vars(made)) and pickle.dumps(direct) == pickle.dumps(made)
    decision, expected = _decision(True, (direct,), "sv"), TagDecision(True, (made,), "sv")
    assert decision == expected and list(vars(decision)) == list(vars(expected))
    assert decision.tag_ids == ("lasning",)
    with pytest.raises(AttributeError):
        direct.score = 1.0  # still frozen


def test_why_names_rule_terms_then_model_words():
    from scanner.classify.combine import _why

    def plain(terms, words):
        parts = []
        if terms:
            parts.append("träffar: " + ", ".join(terms[:5]))
        if words:
            parts.append("modell: " + ", ".join(words))
        return "; ".join(parts)

    for terms in [(), ("a",), ("a", "b"), tuple("abcdefg")]:
        for words in [(), ("x",), ("x", "y", "z")]:
            assert _why(terms, words) == plain(terms, words)


def test_the_rule_score_matrix_has_each_known_tags_score_in_its_column():
    from scanner.classify.combine import _score_matrix
    from scanner.classify.rules import RuleEvidence

    columns = {"lasning": 0, "digital": 1, "pengar": 2}
    found = [RuleEvidence({"digital": 0.26, "lasning": 0.53}, True, {}),
             RuleEvidence({}, False, {}),
             RuleEvidence({"okänd": 0.9, "pengar": 0.45}, True, {}),  # a tag the tagger lacks
             RuleEvidence({"pengar": 0.1}, True, {})]
    expected = np.array([[0.53, 0.26, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.45], [0.0, 0.0, 0.1]])
    assert np.array_equal(_score_matrix(found, columns), expected)


def test_plain_text_is_nfc_as_it_is():
    import unicodedata

    from scanner.plaintext import PLAIN_LETTERS

    characters = [chr(c) for c in range(128)] + list(PLAIN_LETTERS) + list(PLAIN_MARKS)
    for first in characters:
        for second in characters:
            assert unicodedata.is_normalized("NFC", first + second), (first, second)


def test_items_are_prepared_with_the_plain_utf8_of_their_title_and_text():
    from scanner.classify.combine import MAX_RULE_CHARS, MAX_TITLE_CHARS, _prepared
    from scanner.classify.features import clean_text
    from scanner.plaintext import plain_utf8

    rng = random.Random(7)
    alphabet = list("abcXYZ 019.,-:;'\n_<>&") + list("åäöéÅÄÖÉ") + list(PLAIN_MARKS) + \
        ["ü", "\u0301", "e\u0301", "Ã¥", "&amp;", "&auml;", "<p>", "</b>", "\ud800"]
    known = 0
    for _ in range(3000):
        title, text = ("".join(rng.choices(alphabet, k=rng.randint(0, n))) for n in (12, 80))
        if rng.random() < 0.02:
            title, text = title * (2 * MAX_TITLE_CHARS // max(len(title), 1)), \
                text * (MAX_RULE_CHARS // max(len(text), 1) + 1)
        item = (title, text, ("lokal",), None)
        (got_title, got_text, tags, lang), plains = _prepared(0, item)
        expected = (clean_text(title[: 2 * MAX_TITLE_CHARS])[:MAX_TITLE_CHARS],
                    clean_text(text[: 2 * MAX_RULE_CHARS])[:MAX_RULE_CHARS])
        assert (got_title, got_text, tags, lang) == (*expected, ("lokal",), None)
        assert prepare(0, item) == (got_title, got_text, tags, lang)
        for value, plain in zip((got_title, got_text), plains):
            assert plain is None or plain == plain_utf8(value)
            known += plain is not None
        assert item_words(got_title, got_text, *plains) == item_words(got_title, got_text)
    assert known > 1000


def test_tag_rows_are_tag_manys_decisions_as_plain_values(tagger):
    items = [(e.title, e.text, ("mik",) if i % 3 == 0 else ()) for i, e in
             enumerate(synthetic(40, seed=5))]
    decisions = tagger.tag_many(items)
    rows = tagger.tag_rows(items)
    assert [(d.relevant, [(t.id, t.score, t.why, t.origin) for t in d.tags], d.lang)
            for d in decisions] == rows
    assert any(tags for _, tags, _ in rows)


def test_round4_many_is_round4_of_each_value():
    from scanner.classify.combine import round4_many
    from scanner.classify.rules import round4

    rng = np.random.default_rng(5)
    values = np.concatenate([
        rng.random(20_000), rng.random(2_000) * 3, np.round(rng.random(2_000), 4),
        np.arange(0, 10_001) / 10_000.0 + 0.00005,  # halves: left to round()
        [0.0, -0.25, 1e6, 2e6, 1e-9, np.inf, -np.inf, 0.99995, 0.12345]])
    got = round4_many(values)
    assert [repr(v) for v in got.tolist()] == [repr(round4(v)) for v in values.tolist()]
    assert np.isnan(round4_many(np.array([np.nan]))[0])


def test_given_tags_come_best_first_as_a_sort_of_each_item_would_order_them(taxonomy, rules):
    """Rounded score, then priority, ties in column order: the stable sort by
    (-round4(score), priority) of each item's tags taken in column order."""
    from scanner.classify.rules import round4

    tagger = Tagger(taxonomy, rules)
    priority = [tag.priority for tag in taxonomy.tags]
    rng = np.random.default_rng(6)
    n_tags = len(tagger.tag_ids)
    given = rng.random((300, n_tags)) < 0.4
    tied = rng.choice([0.5, 0.61234, 0.9], (300, n_tags))  # ties decided by priority, column
    score = np.where(rng.random((300, n_tags)) < 0.5, tied, rng.random((300, n_tags)))
    rows, columns, scores = tagger._given_in_order(given, score)
    for i in range(300):
        expected = sorted([(j, round4(score[i, j])) for j in np.flatnonzero(given[i]).tolist()],
                          key=lambda pair: (-pair[1], priority[pair[0]]))
        mine = rows == i
        assert list(zip(columns[mine].tolist(), scores[mine].tolist())) == expected
