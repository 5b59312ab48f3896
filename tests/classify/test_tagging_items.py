"""scanner.tagging.tag_items: the decision written onto each item, as dataclasses.replace would."""

from dataclasses import fields, replace
from datetime import datetime, timezone

from scanner.classify.combine import TagDecision, TagScore
from scanner.models import Item, ItemTag
from scanner.tagging import with_decision

WHEN = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def item() -> Item:
    return Item("kb", "guid-1", "https://kb.se/1", "https://kb.se/1", "Bokstart", "Text",
                "<p>Text</p>", WHEN, WHEN, False, "hash", "en", "Anna", ("mik",),
                (ItemTag("old", 0.1, "", "rule"),), False, "v0", "bok start", ("b1", "b2"))


def test_with_decision_is_replace_with_the_decisions_tags_verdict_and_language():
    decision = TagDecision(True, (TagScore("lasframjande", 0.8123, "träffar: bokstart*", "rule"),
                                  TagScore("mik", 1.0, "källans tagg", "source"),
                                  TagScore("barn-unga", 0.51, "modell: barn", "model")), "sv")
    original = item()
    tagged = with_decision(original, decision, "v1")
    expected = replace(original, tag_scores=(ItemTag("lasframjande", 0.8123, "träffar: bokstart*",
                                                     "rule"),
                                             ItemTag("barn-unga", 0.51, "modell: barn", "model")),
                       relevant=True, lang="sv", tagger_version="v1")
    assert tagged == expected and hash(tagged) == hash(expected)
    assert [getattr(tagged, f.name) for f in fields(Item)] == \
        [getattr(expected, f.name) for f in fields(Item)]
    assert vars(tagged) == vars(expected) and original == item()


def test_an_item_keeps_its_language_when_the_decision_has_none():
    tagged = with_decision(item(), TagDecision(False, (), ""), "v1")
    assert (tagged.lang, tagged.relevant, tagged.tag_scores) == ("en", False, ())


def test_item_tags_built_directly_equal_those_of_their_init():
    import pickle

    from scanner.tagging import _PLAIN_ITEM_TAG, _built_item_tag, _item_tag

    assert _PLAIN_ITEM_TAG and _item_tag is _built_item_tag
    direct, made = _item_tag("bokstart", 0.53, "träffar: bokstart", "rule+model"), \
        ItemTag("bokstart", 0.53, "träffar: bokstart", "rule+model")
    assert direct == made and hash(direct) == hash(made) and list(vars(direct)) == list(vars(made))
    assert pickle.dumps(direct) == pickle.dumps(made)


def test_tag_items_writes_what_with_decision_writes(tmp_path):
    from scanner.classify.combine import Tagger
    from scanner.classify.model import TagModel
    from scanner.classify.rules import RuleMatcher
    from scanner.parse.language import detect_language, language_of_plain
    from scanner.tagging import PACKAGED_TAXONOMY, bootstrap_spec, tag_items

    spec = bootstrap_spec(PACKAGED_TAXONOMY, tmp_path, WHEN)
    taxonomy = spec.taxonomy
    tagger = Tagger(taxonomy, RuleMatcher(taxonomy), TagModel.from_bytes(spec.model),
                    detect_language=detect_language, language_of_plain=language_of_plain)
    texts = [("Bokstart för barn", "Läsfrämjande på biblioteket i Malmö, 2024."),
             ("Library news", "Reading for children at the public library"),
             ("Väder", "Sol och regn i helgen"), ("", "")]
    items = [replace(item(), title=title, summary=text, lang="") for title, text in texts]
    decisions = tagger.tag_many([(i.title, i.summary) for i in items])
    expected = [with_decision(i, d, "v2") for i, d in zip(items, decisions)]
    assert tag_items(tagger, "v2", items) == expected
    assert any(i.tag_scores for i in expected)
