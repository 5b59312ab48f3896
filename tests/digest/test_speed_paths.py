"""The fast paths of the digest stage give what the plain ones give: title pairs (prefix filter
in numpy) against all pairs, the trimming search against a plain binary search, the counted
quoted-printable size against quoprimime (and in pieces against their join), clean text and
title words against the regular expressions they replace, build_digest with grouped= against
without, the ranking against each story placed and ranked on its own, a trim's measured size
against its rendering, and the page assembled from entries inlined once per story against the
whole page inlined at once."""

import dataclasses
import html
import random
import re
import unicodedata
from email import quoprimime
from itertools import combinations

import pytest
from markupsafe import Markup

from scanner.digest import render
from scanner.digest.definitions import Recipient
from scanner.digest.fragments import plain_html_fragment
from scanner.digest.page import entries_context, page_context
from scanner.digest.rank import RankInputs, order_key, rank_story
from scanner.digest.ranking import ranking, section_counts
from scanner.digest.render import fewest_to_drop, render_digest
from scanner.digest.select import build_digest, digest_window, story_sections
from scanner.digest.sizes import encoded_size, joined_size
from scanner.digest.stories import group_week, source_weight
from scanner.digest.templating import ENVIRONMENT, INLINER
from scanner.digest.text import clean_text, jaccard, title_tokens
from scanner.digest.titles import similar_pairs
from scanner.digest.tokens import VERDICTS, make_token, token_length
from scanner.models import Source, TaxonomyTag
from tests.digest.test_render import ENGLISH, huge_week
from tests.digest.week import (
    FAILING, HISTORY, MANAGER, MANAGERS, NOW, PUBLIC_URL, SECRET, SOURCES, STAFF, STAFF_MEMBER,
    STORIES, WEEK, at, item, taxonomy, week_items,
)

WORDS = "bok bibliotek och i läsning barn unga plan ny stöd kommun region e-bok app".split()
MORE_WORDS = WORDS + [f"ord{n}" for n in range(60)]


def _titles(rng: random.Random, count: int, words: list[str]) -> dict[int, frozenset[str]]:
    titles = {}
    for n in range(count):
        if titles and rng.random() < 0.4:  # a reworded copy of an earlier title
            chosen = set(titles[rng.choice(list(titles))])
            chosen ^= {rng.choice(words) for _ in range(rng.randint(0, 3))}
        else:
            chosen = {rng.choice(words) for _ in range(rng.randint(3, 12))}
        if len(chosen) >= 3:
            titles[n] = frozenset(chosen)
    return titles


@pytest.mark.parametrize("words", [WORDS, MORE_WORDS])
def test_title_pairs_are_exactly_the_pairs_at_or_above_the_threshold(words):
    rng = random.Random(7)
    for _ in range(20):
        titles = _titles(rng, rng.randint(0, 200), words)
        expected = {frozenset(pair) for pair in combinations(titles, 2)
                    if jaccard(titles[pair[0]], titles[pair[1]]) >= 0.6}
        found = [frozenset(pair) for pair in similar_pairs(titles)]
        assert len(found) == len(set(found))
        assert set(found) == expected


def plain_clean_text(text: str) -> str:
    text = html.unescape(re.sub(r"<[^>]{0,500}>", " ", text))
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def test_clean_text_and_title_words_are_the_regular_expressions_results():
    rng = random.Random(4)
    parts = ["a", "B", " ", "\t", "\n", "\u00a0", "\u2028", "\u3000", "\x1c", "<b>", "</p>",
             "&amp;", "&nbsp;", "&#x41;", "ß", "Å", "e\u0301", "<", ">", "&", "x1", ".", "–"]
    for _ in range(5000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 15)))
        assert clean_text(text) == plain_clean_text(text)
        words = re.findall(r"\w+", plain_clean_text(text).casefold())
        assert title_tokens(text) == {word for word in words if len(word) > 1}


def test_trimming_finds_the_fewest_stories_to_drop_in_few_renders():
    rng = random.Random(3)
    for _ in range(300):
        entries = rng.randint(1, 80)
        sizes = [150_000]
        for _ in range(entries):
            sizes.append(sizes[-1] - rng.randint(200, 3_000))
        limit = rng.randint(sizes[-1] - 5_000, sizes[0] - 1)
        asked = []

        def size_after(count, sizes=sizes, asked=asked):
            asked.append(count)
            return sizes[count]

        fits = [n for n in range(1, entries + 1) if sizes[n] <= limit]
        assert fewest_to_drop(size_after, entries, limit) == (fits[0] if fits else entries)


def test_counted_size_is_quoprimime_size():
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice("ab =\t\r\nåäö€x.-") for _ in range(rng.randint(0, 300)))
        assert encoded_size(text) == len(quoprimime.body_encode(
            text.encode("utf-8").decode("latin-1")))


def test_the_size_of_pieces_is_the_size_of_their_join():
    rng = random.Random(6)
    for _ in range(3000):
        text = "".join(rng.choice("ab =\t\r\nåäö€x.-") for _ in range(rng.randint(0, 300)))
        cuts = sorted(rng.choices(range(len(text) + 1), k=rng.randint(0, 8)))
        pieces = [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)])]
        assert joined_size(pieces) == encoded_size(text)


def test_token_length_is_the_length_of_the_signed_token():
    rng = random.Random(8)
    for _ in range(500):
        email = "".join(rng.choice("abcåö+.@-é€") for _ in range(rng.randint(1, 40)))
        item_id = rng.randint(0, 10 ** rng.randint(1, 12))
        for verdict in VERDICTS:
            assert len(make_token(SECRET, "bibliotekschefer", WEEK, email, item_id, verdict)) \
                == token_length("bibliotekschefer", WEEK, email, item_id)


def test_a_shared_grouping_gives_each_recipient_the_same_digest():
    items = week_items()
    grouped = group_week(items, STORIES, SOURCES, digest_window(MANAGERS, WEEK, NOW))
    for sent in (set(), {1, 5}):
        alone = build_digest(MANAGERS, items, taxonomy(), SOURCES, STORIES, HISTORY, FAILING,
                             set(sent), MANAGER, NOW, WEEK)
        shared = build_digest(MANAGERS, items, taxonomy(), SOURCES, STORIES, HISTORY, FAILING,
                              set(sent), MANAGER, NOW, WEEK, grouped=grouped)
        assert shared == alone


CHILDREN = (TaxonomyTag("bokstart", "Bokstart", "Bokstart", priority=1, parent="lasframjande"),
            TaxonomyTag("sagostund", "Sagostund", "Story time", priority=1, parent="bokstart"),
            TaxonomyTag("lasombud", "Läsombud", "Reading ambassadors", priority=2,
                        parent="tillganglighet"))


def random_week(rng: random.Random, count: int) -> list:
    """Items with 1–4 tags (children too) whose scores often tie, from every source."""
    tags = [tag.id for tag in taxonomy(CHILDREN).tags]
    words = "bok bibliotek läsning barn unga plan stöd kommun region app skola".split()
    return [item(n, rng.choice(list(SOURCES)), " ".join(rng.sample(words, 4)) + f" {n}", "",
                 at(rng.randrange(7), rng.randrange(24)),
                 {tag: rng.choice((0.4, 0.6, 0.6, 0.9, rng.random()))
                  for tag in rng.sample(tags, rng.randint(1, 4))})
            for n in range(1, count + 1)]


def plain_ranking(grouped, sections, tax, topics) -> list[tuple]:
    """(lead id, section, rank) of every story placed and ranked on its own, best first."""
    rows = []
    for story in grouped.stories:
        placed = story_sections(story, sections, tax, topics)
        if placed:
            section, tag = placed[0]
            rank = rank_story(RankInputs(tax.by_id(section).priority, tag.score,
                                         source_weight(story, SOURCES), story.newest,
                                         len(story.source_ids)), *grouped.window)
            rows.append((order_key(rank, story.lead.published, story.lead.id),
                         (story.lead.id, section, rank)))
    return [row for _, row in sorted(rows)]


def test_the_shared_ranking_is_each_story_placed_and_ranked_on_its_own():
    rng, tax = random.Random(11), taxonomy(CHILDREN)
    top_level = list(tax.top_level)
    for _ in range(6):
        grouped = group_week(random_week(rng, 300), {}, SOURCES,
                             digest_window(MANAGERS, WEEK, NOW))
        for topics in ((), ("bokstart",), ("sagostund", "demokrati"), ("lasframjande", "mik")):
            sections = sorted(rng.sample(top_level, rng.randint(1, len(top_level))),
                              key=lambda tag: tax.by_id(tag).priority)
            shared = ranking(grouped, sections, tax, SOURCES, topics)
            assert [(grouped.stories[row[3]].lead.id, row[4], -row[0])
                    for row in shared.rows] == plain_ranking(grouped, sections, tax, topics)
        counts = {tag: sum(tag in {s for s, _ in story_sections(story, sections, tax)}
                           for story in grouped.stories) for tag in sections}
        assert section_counts(grouped, sections, tax) == counts


def plain_page(rendered, definition, recipient) -> str:
    """The rendered content as one page through Jinja, every entry in it, the CSS inlined over
    the whole page (what render_digest did before entries were inlined once per story)."""
    content = rendered.content
    links = render._Links(SECRET, content.digest_id, content.week, recipient.email, PUBLIC_URL)
    context = page_context(content, definition, recipient, NOW, links.base, links.unsubscribe)
    entries = entries_context(content, lambda entry, number: Markup(plain_html_fragment(
        entry, content.language, PUBLIC_URL, number is not None).fill(*links.tokens(entry))))
    return INLINER.inline(ENVIRONMENT.get_template("digest.html").render(context | entries))


ODD_SOURCES = {**SOURCES, "odd": Source("odd", 'Förlag & "Bok" <AB>', "https://odd.example.se/rss")}


def odd_week() -> list:
    """A title, a source name and a link with markup characters, links that are not web links,
    no summary or reason, a story from four sources."""
    items = week_items()
    items[5] = dataclasses.replace(items[5], source="odd", sources=("odd",),
                                   url='https://odd.example.se/a?b=1&c="2"&d=<3>')
    title = 'Nytt: "bibliotek" & \'läsning\' för < 3 år <!--'
    items[0] = dataclasses.replace(items[0], title=title, summary="")
    items[3] = dataclasses.replace(items[3], url="javascript:alert(1)")
    items[4] = dataclasses.replace(items[4], url=None, tag_details=tuple(
        dataclasses.replace(tag, why="") for tag in items[4].tag_details))
    items.append(item(40, "kb", "Bokstart växer: nu med i 120 kommuner & fler", "<p>Å &amp; Ä</p>",
                      at(4, 11), {"lasframjande": 0.6}, sources=("kb", "mtm")))
    return items


@pytest.mark.parametrize("definition, recipient, items, limit", [
    (MANAGERS, MANAGER, week_items(), 102_000),
    (STAFF, STAFF_MEMBER, odd_week(), 102_000),
    (ENGLISH, Recipient("<b>Anna</b>", 'anna+<x>&"@example.se'), odd_week(), 102_000),
    (dataclasses.replace(STAFF, items_per_section=50), STAFF_MEMBER, huge_week(), 102_000),
    (STAFF, STAFF_MEMBER, huge_week(), 9_000),
    (MANAGERS, MANAGER, [], 102_000),
])
def test_a_page_assembled_from_entries_is_the_page_inlined_whole(definition, recipient, items,
                                                                   limit):
    content = build_digest(definition, items, taxonomy(), ODD_SOURCES, STORIES, HISTORY,
                           FAILING, set(), recipient, NOW, WEEK)
    rendered = render_digest(content, definition, recipient, PUBLIC_URL, SECRET, NOW, limit)
    assert rendered.html == plain_page(rendered, definition, recipient)
    assert rendered.html.count("/feedback/") == 2 * rendered.content.entry_count


@pytest.mark.parametrize("definition, recipient, items", [
    (STAFF, STAFF_MEMBER, huge_week(120)),
    (ENGLISH, Recipient("<b>Anna</b>", 'anna+<x>&"@example.se'), odd_week()),
])
def test_a_measured_trim_is_the_size_of_its_rendering(definition, recipient, items):
    content = build_digest(definition, items, taxonomy(), ODD_SOURCES, STORIES, HISTORY,
                           FAILING, set(), recipient, NOW, WEEK)
    links = render._Links(SECRET, content.digest_id, content.week, recipient.email, PUBLIC_URL)
    for count in range(content.entry_count + 1):
        shown = render._drop_lowest(content, count) if count else content
        measured = render._Trim(shown, definition, recipient, NOW, links).size
        assert measured == render._Trim(shown, definition, recipient, NOW, links).render().size
