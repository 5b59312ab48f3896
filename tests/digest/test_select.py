"""build_digest: what a recipient reads, in which order, once; rising topics; failing sources."""

import dataclasses
from datetime import datetime, timedelta, timezone

from scanner.digest.definitions import Recipient
from scanner.digest.rank import RankInputs, rank_story
from scanner.digest.select import build_digest, digest_window
from scanner.digest.text import split_sentences, summarise
from scanner.models import TaxonomyTag
from tests.digest.week import (
    FAILING,
    HISTORY,
    MANAGER,
    MANAGERS,
    MONDAY,
    NOW,
    SOURCES,
    STAFF,
    STAFF_MEMBER,
    STORIES,
    WEEK,
    at,
    item,
    taxonomy,
    week_items,
)

UTC = timezone.utc


def digest(definition=MANAGERS, recipient=MANAGER, items=None, already_sent=frozenset(),
           history=HISTORY, tax=None, stories=STORIES):
    return build_digest(definition, week_items() if items is None else items, tax or taxonomy(),
                        SOURCES, stories, history, FAILING, set(already_sent), recipient, NOW,
                        WEEK)


def shown_ids(content) -> list[int]:
    return [entry.item_id for entry in content.entries]


def test_only_relevant_items_of_the_week_are_shown():
    for definition, recipient in ((MANAGERS, MANAGER), (STAFF, STAFF_MEMBER)):
        content = digest(definition, recipient)
        every_item = {i for entry in content.entries for i in entry.story_item_ids}
        assert every_item == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
        assert not every_item & {15, 16, 17}  # not relevant, not yet tagged, last week


def test_the_window_is_the_iso_week_in_stockholm_time():
    start, end = digest_window(MANAGERS, WEEK, NOW)
    assert (start, end) == (MONDAY, MONDAY + timedelta(days=7))
    items = [item(1, "kb", "Precis i början av veckan", "", start, {"demokrati": 0.9}),
             item(2, "kb", "Precis när veckan tagit slut", "", end, {"demokrati": 0.9})]
    assert shown_ids(digest(items=items)) == [1]  # the start belongs to the week, the end not


def test_a_window_across_the_dst_change_is_still_the_whole_local_week():
    start, end = digest_window(MANAGERS, "2026-W43", datetime(2026, 10, 26, 6, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 10, 18, 22, tzinfo=UTC),
                            datetime(2026, 10, 25, 23, tzinfo=UTC))
    fortnight = dataclasses.replace(MANAGERS, window=timedelta(days=14))
    assert digest_window(fortnight, WEEK, NOW)[0] == MONDAY - timedelta(days=7)


def test_a_preview_in_the_middle_of_the_week_stops_at_now():
    wednesday = MONDAY + timedelta(days=2, hours=12)
    start, end = digest_window(MANAGERS, "2026-W47", wednesday)
    assert end == wednesday and start == wednesday - timedelta(days=7)


def test_the_top_three_open_the_digest_and_are_not_repeated_in_sections():
    content = digest()
    assert [e.item_id for e in content.top] == [10, 12, 2]
    ids = shown_ids(content)
    assert len(ids) == len(set(ids)) == 12  # every story once, under its best tag only
    assert [e.rank for e in content.top] == sorted((e.rank for e in content.top), reverse=True)


def test_sections_follow_taxonomy_priority_and_hold_their_best_ranked_stories():
    content = digest()
    priorities = [section.priority for section in content.sections]
    assert priorities == sorted(priorities)
    assert [s.tag for s in content.sections][:3] == ["demokrati", "lasframjande",
                                                     "tillganglighet"]
    report = next(e for e in content.entries if e.item_id == 8)
    assert report.section == "lasframjande"  # priority 1 beats statistik-forskning (3)
    assert report.tags == ("Läsfrämjande och litteratur", "Barn och unga",
                           "Statistik, uppföljning och forskning")


def test_a_reprinted_press_release_is_one_story_with_the_other_source_named():
    content = digest()
    grant = next(e for e in content.entries if e.item_id == 2)
    assert grant.story_item_ids == (2, 3)
    assert grant.source_name == "Kulturrådet"
    assert grant.also_reported_by == ("Biblioteksbladet",)
    assert grant.coverage == 2
    bokstart = next(e for e in content.entries if e.item_id == 10)  # the archive's story id
    assert bokstart.story_item_ids == (10, 11)
    assert bokstart.also_reported_by == ("Regionbibliotek Stockholm",)


def test_different_titles_stay_separate_stories():
    items = [item(1, "kb", "Biblioteken i Sverige ökar sina öppettider", "", at(1),
                  {"verksamhetsutveckling": 0.8}),
             item(2, "mtm", "Biblioteken i Norge minskar sina öppettider", "", at(2),
                  {"verksamhetsutveckling": 0.8})]
    assert sorted(shown_ids(digest(items=items, stories={}))) == [1, 2]


def test_coverage_lifts_a_story_in_the_ranking():
    alone = item(1, "biblioteksbladet", "Ny handbok om meröppna bibliotek", "", at(3),
                 {"verksamhetsutveckling": 0.7})
    widely = item(2, "biblioteksbladet", "Nationell satsning på bokbussar", "", at(3),
                  {"verksamhetsutveckling": 0.7},
                  sources=("biblioteksbladet", "regionbibliotek-stockholm", "region-orebro-lan"))
    content = digest(items=[alone, widely])
    assert shown_ids(content) == [2, 1]
    assert content.entries[0].coverage == 3
    assert content.entries[0].also_reported_by == ("Regionbibliotek Stockholm",
                                                   "Region Örebro län")


def test_the_rank_formula():
    start, end = MONDAY, MONDAY + timedelta(days=7)
    best = RankInputs(priority=1, score=1.0, source_weight=2.0, published=end, coverage=4)
    assert rank_story(best, start, end) == 1.0
    worst = RankInputs(priority=3, score=0.0, source_weight=0.0, published=start, coverage=1)
    assert rank_story(worst, start, end) == 0.35 * 0.3
    middle = RankInputs(priority=2, score=0.5, source_weight=1.0, published=start + timedelta(
        days=3, hours=12), coverage=2)
    assert rank_story(middle, start, end) == round(0.35 * 0.6 + 0.25 * 0.5 + 0.15 * 0.5
                                                   + 0.15 * 0.5 + 0.10 / 3, 6)


def test_stories_already_sent_to_the_recipient_are_not_repeated():
    content = digest(already_sent={3, 5})  # 3 is the reprint of 2: the whole story is skipped
    assert not {2, 3, 5} & content.item_ids
    assert [e.item_id for e in content.top] == [10, 12, 4]


def test_recipient_topics_limit_what_is_shown():
    maria = Recipient("Maria Nilsson", "maria.nilsson@example.se",
                      topics=("barn-unga", "lasframjande", "skolbibliotek"))
    content = digest(recipient=maria)
    assert sorted(shown_ids(content)) == [8, 10, 12, 14]
    assert {s.tag for s in content.sections} <= {"barn-unga", "lasframjande", "skolbibliotek"}
    assert content.recipient_email == "maria.nilsson@example.se"


def test_min_priority_keeps_only_the_highest_priorities():
    johan = Recipient("Johan Berg", "johan.berg@example.se", min_priority=1)
    content = digest(recipient=johan)
    assert {e.section for e in content.entries} == {
        "demokrati", "lasframjande", "tillganglighet", "sprak-minoriteter",
        "digital-delaktighet", "styrning-finansiering"}
    assert 8 in shown_ids(content) and 1 not in shown_ids(content)


def test_a_child_tag_rolls_up_to_its_section_and_can_be_followed_alone():
    tax = taxonomy((TaxonomyTag("bokstart", "Bokstart", "Bokstart", priority=1,
                                parent="lasframjande"),))
    items = [item(1, "kulturradet", "Bokstart i fler kommuner", "", at(2), {"bokstart": 0.9}),
             item(2, "kulturradet", "Ny litteraturpolitisk utredning", "", at(2),
                  {"lasframjande": 0.9})]
    content = digest(items=items, tax=tax)
    assert {e.item_id: e.section for e in content.entries} == {1: "lasframjande",
                                                               2: "lasframjande"}
    follower = Recipient("Eva", "eva@example.se", topics=("bokstart",))
    assert shown_ids(digest(items=items, tax=tax, recipient=follower)) == [1]


def test_items_per_section_and_the_count_of_the_rest():
    titles = ["Sagostund för de minsta", "Poesifestival i Umeå", "Deckarveckan lockade många",
              "Serier på lättläst svenska", "Ljudböcker lånas mer än förr",
              "Klassikercirklar startar i länet", "Fantasy för unga vuxna",
              "Biografier toppar listan"]
    items = [item(i, "kb", title, "", at(i % 6), {"lasframjande": 0.5 + i / 100})
             for i, title in enumerate(titles, start=1)]
    narrow = dataclasses.replace(MANAGERS, items_per_section=2, top_count=1)
    content = digest(narrow, items=items)
    assert len(content.top) == 1
    (section,) = content.sections
    assert len(section.entries) == 2 and section.more == 5


def test_sections_can_be_chosen_and_are_still_ordered_by_priority():
    chosen = dataclasses.replace(MANAGERS, sections=("statistik-forskning", "demokrati"),
                                 top_count=0)
    content = digest(chosen)
    assert [s.tag for s in content.sections] == ["demokrati", "statistik-forskning"]
    assert sorted(shown_ids(content)) == [1, 4, 8]  # 8 is also tagged statistik-forskning
    assert next(e for e in content.entries if e.item_id == 8).tags == (
        "Statistik, uppföljning och forskning",)


def test_rising_topics_rule():
    content = digest()
    assert [(t.tag, t.count, t.average) for t in content.rising] == [("lasframjande", 3, 0.8)]
    assert digest(history={}).rising == ()  # a new archive has nothing to compare with
    assert digest(dataclasses.replace(MANAGERS, rising_topics=False)).rising == ()
    # 3 stories against an average of exactly 1.5 is rising (3 ≥ 2 × 1.5), 1.625 is not;
    # a tag without history averaged 0, and the biggest jump comes first
    assert [t.tag for t in digest(history={"lasframjande": [1, 2] * 4}).rising] == [
        "verksamhetsutveckling", "lasframjande"]
    assert "lasframjande" not in [t.tag for t in digest(
        history={"lasframjande": [1, 2, 2, 2, 1, 2, 2, 1]}).rising]


def test_rising_topics_count_stories_not_reprints():
    items = [item(i, source, "Kulturrådet fördelar pengar till Stärkta bibliotek", "", at(1),
                  {"demokrati": 0.9})
             for i, source in enumerate(["kb", "kulturradet", "biblioteksbladet"], start=1)]
    assert digest(items=items, history={"demokrati": [0] * 8}).rising == ()


def test_failing_sources_only_in_the_staff_digest():
    assert digest().failing_sources == ()
    staff = digest(STAFF, STAFF_MEMBER)
    assert [(s.name, s.error_streak) for s in staff.failing_sources] == [
        ("Region Örebro län", 9), ("Myndigheten för kulturanalys", 3)]
    assert staff.failing_sources[1].moved_to == "https://www.kulturanalys.se/feed.json"


def test_english_digest_uses_english_labels():
    content = digest(dataclasses.replace(MANAGERS, language="en"))
    assert content.sections[0].label == "Democracy and freedom of expression"


def test_an_empty_week():
    content = digest(items=[])
    assert content.is_empty and content.entry_count == 0 and content.area_count == 0


def test_summaries_are_one_or_two_clean_sentences_within_300_characters():
    assert summarise("<p>Första meningen.</p> Andra meningen! Tredje meningen.") == \
        "Första meningen. Andra meningen!"
    assert summarise("Kommunen har bl.a. ökat öppettiderna. Det gäller t.ex. Kiruna.") == \
        "Kommunen har bl.a. ökat öppettiderna. Det gäller t.ex. Kiruna."
    long_second = "Kort inledning. " + "Mycket lång mening " * 20 + "slut."
    assert summarise(long_second) == "Kort inledning."
    endless = "ord " * 200
    cut = summarise(endless)
    assert len(cut) <= 300 and cut.endswith("ord…")
    assert split_sentences("Enligt SFS 2013:801 ska det finnas. 2026 blir året.") == [
        "Enligt SFS 2013:801 ska det finnas.", "2026 blir året."]
    assert summarise("  Mycket   luft &amp; radbrytningar\n\n här.  ") == \
        "Mycket luft & radbrytningar här."
