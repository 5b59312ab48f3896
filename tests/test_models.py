"""models: the fast copy of an Item."""

from dataclasses import replace
from datetime import datetime, timezone

from scanner.models import Item, ItemTag, item_with

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def an_item() -> Item:
    return Item(source_id="kb", identity="guid:1", url="https://kb.example.se/1",
                canonical_url="https://kb.example.se/1", title="Läsårets statistik",
                summary="Folkbiblioteken lånade ut fler böcker.", content_html="<p>Text</p>",
                published=NOW, fetched=NOW, date_missing=False, content_hash="abc", lang="sv",
                tags=("statistik",))


def test_item_with_equals_dataclasses_replace_and_leaves_the_original():
    item = an_item()
    tag = ItemTag("lasframjande", 0.8, "läs", "rule")
    changes = dict(tags=("statistik", "lokal"), story_tokens="lasår statist | folkbibliotek",
                   story_bands=("b0:00ff",), tag_scores=(tag,), relevant=True)
    copy = item_with(item, **changes)
    assert copy == replace(item, **changes) and type(copy) is Item
    assert item == an_item() and item.tags == ("statistik",)
    assert vars(copy) == vars(replace(item, **changes))
