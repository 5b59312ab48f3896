"""taxonomy.yaml: the shipped file, and every validation problem with its line and a fix."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from scanner.classify.taxonomy import load_taxonomy, parse_taxonomy_text, taxonomy_json_schema
from scanner.classify.text import parse_keyword
from scanner.config_yaml import load_yaml_quickly, load_yaml_with_positions
from scanner.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "taxonomy.yaml"

# The 17 stable ids of taxonomy-spec.md and their priorities.
SPEC = {
    "demokrati": 1, "mik": 2, "lasframjande": 1, "barn-unga": 1, "skolbibliotek": 2,
    "tillganglighet": 1, "sprak-minoriteter": 1, "digital-delaktighet": 1, "inkludering": 2,
    "verksamhetsutveckling": 2, "kompetens-ledarskap": 2, "styrning-finansiering": 1,
    "statistik-forskning": 3, "medier-upphovsratt": 3, "trygghet": 2, "beredskap": 2,
    "hallbarhet": 3,
}


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_taxonomy_text(dedent(text))
    return caught.value.problems


# --- the shipped taxonomy ---------------------------------------------------------------------


def test_shipped_taxonomy_has_exactly_the_17_ids_of_the_spec():
    taxonomy = load_taxonomy(SHIPPED)
    assert sorted(taxonomy.top_level) == sorted(SPEC)
    assert {tag.id: tag.priority for tag in taxonomy.tags if tag.parent is None} == SPEC


def test_shipped_tags_are_complete():
    taxonomy = load_taxonomy(SHIPPED)
    for tag in taxonomy.tags:
        assert tag.label_sv and tag.label_en and tag.description, tag.id
        assert len(tag.keywords) >= 20, f"{tag.id} needs a rich keyword list"
        assert tag.weight == 1.0
    assert "*bibliotek*" in taxonomy.relevance_keywords


def test_top_level_is_in_priority_order_then_file_order():
    top = load_taxonomy(SHIPPED).top_level
    priorities = [SPEC[tag] for tag in top]
    assert priorities == sorted(priorities)
    assert top[:2] == ("demokrati", "lasframjande")


def test_load_taxonomy_accepts_a_directory(tmp_path):
    (tmp_path / "taxonomy.yaml").write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    assert len(load_taxonomy(tmp_path).tags) == 17


def test_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_taxonomy(tmp_path / "taxonomy.yaml")
    assert caught.value.problems == [f"{tmp_path / 'taxonomy.yaml'}: not found; create it "
                                     "(start from the shipped taxonomy.yaml)"]


# --- children, parents and helpers ------------------------------------------------------------

TREE = """\
tags:
  - id: lasframjande
    label_sv: Läsfrämjande
    priority: 1
    keywords: [läsfrämj*]
    children:
      - id: bokstart
        label_sv: Bokstart
        keywords: [bokstart]
        children:
          - id: bokstart-sprak
            label_sv: Bokstart på andra språk
            priority: 3
  - id: barn-unga
    label_sv: Barn och unga
    label_en: Children and young people
    priority: 2
  - id: lovaktiviteter
    label_sv: Lovaktiviteter
    parent: barn-unga
"""


def test_children_are_flattened_with_their_parent_and_inherit_priority():
    taxonomy = parse_taxonomy_text(TREE)
    assert [tag.id for tag in taxonomy.tags] == [
        "lasframjande", "bokstart", "bokstart-sprak", "barn-unga", "lovaktiviteter"]
    assert taxonomy.by_id("bokstart").parent == "lasframjande"
    assert taxonomy.by_id("bokstart").priority == 1
    assert taxonomy.by_id("bokstart-sprak").priority == 3
    assert taxonomy.by_id("lovaktiviteter").priority == 2
    assert taxonomy.top_level == ("lasframjande", "barn-unga")
    assert taxonomy.root_of("bokstart-sprak") == "lasframjande"
    assert taxonomy.root_of("barn-unga") == "barn-unga"
    assert taxonomy.children_of("lasframjande") == ("bokstart",)


def test_label_en_defaults_to_label_sv_and_lists_become_tuples():
    tag = parse_taxonomy_text(TREE).by_id("bokstart")
    assert tag.label_en == "Bokstart"
    assert tag.keywords == ("bokstart",) and tag.exclude == ()
    assert tag.weight == 1.0 and tag.description == ""


def test_by_id_of_an_unknown_tag_raises_key_error():
    with pytest.raises(KeyError, match="unknown tag 'nope'"):
        parse_taxonomy_text(TREE).by_id("nope")


def test_a_taxonomy_without_relevance_block_has_no_relevance_keywords():
    assert parse_taxonomy_text(TREE).relevance_keywords == ()


# --- validation: one problem each -------------------------------------------------------------


def test_unknown_key_suggests_the_right_one():
    assert problems("""\
        tags:
          - id: mik
            label_sv: MIK
            priority: 2
            keyword: [källkritik*]
        """) == ["taxonomy.yaml:5: tags[0].keyword: unknown key — did you mean `keywords`?"]


def test_unknown_key_in_a_child_and_at_the_top():
    found = problems("""\
        relevanse: {keywords: [bibliotek*]}
        tags:
          - id: mik
            label_sv: MIK
            priority: 2
            children:
              - id: kallkritik
                label_sv: Källkritik
                exclud: [x]
        """)
    assert found == [
        "taxonomy.yaml:1: relevanse: unknown key — did you mean `relevance`?",
        "taxonomy.yaml:9: tags[0].children[0].exclud: unknown key — did you mean `exclude`?",
    ]


def test_duplicate_id_names_both_lines():
    assert problems("""\
        tags:
          - id: mik
            label_sv: MIK
            priority: 2
          - id: mik
            label_sv: Medie- och informationskunnighet
            priority: 2
        """) == ["taxonomy.yaml:5: tags[1].id: duplicate id 'mik' — also used at line 2; "
                 "ids must be unique"]


def test_duplicate_id_between_a_child_and_a_top_level_tag():
    found = problems("""\
        tags:
          - id: barn-unga
            label_sv: Barn
            priority: 1
            children:
              - {id: mik, label_sv: Barn och MIK}
          - {id: mik, label_sv: MIK, priority: 2}
        """)
    assert found == ["taxonomy.yaml:7: tags[1].id: duplicate id 'mik' — also used at line 6; "
                     "ids must be unique"]


def test_unknown_parent_suggests_the_closest_id():
    assert problems("""\
        tags:
          - id: lasframjande
            label_sv: Läsfrämjande
            priority: 1
          - id: bokstart
            label_sv: Bokstart
            parent: lasframjand
        """) == ["taxonomy.yaml:7: tags[1].parent: unknown parent 'lasframjand' — did you mean "
                 "`lasframjande`?"]


def test_unknown_parent_without_a_close_match():
    found = problems("""\
        tags:
          - {id: lasframjande, label_sv: Läsfrämjande, priority: 1}
          - {id: bokstart, label_sv: Bokstart, parent: xyz}
        """)
    assert found == ["taxonomy.yaml:3: tags[1].parent: unknown parent 'xyz'; use the id of "
                     "another tag"]


def test_a_number_as_parent_is_checked_like_text():
    assert problems("""\
        tags:
          - {id: mik, label_sv: MIK, priority: 2}
          - {id: kallkritik, label_sv: Källkritik, parent: 5}
        """) == ["taxonomy.yaml:3: tags[1].parent: unknown parent '5'; use the id of another tag"]


def test_parent_loops_and_self_parents_are_reported():
    found = problems("""\
        tags:
          - {id: a, label_sv: A, parent: b}
          - {id: b, label_sv: B, parent: a}
          - {id: c, label_sv: C, parent: c}
        """)
    assert found == [
        "taxonomy.yaml:2: tags[0].parent: parents go round in a loop: a → b → a; break the loop",
        "taxonomy.yaml:4: tags[2].parent: a tag cannot be its own parent; remove `parent:` or "
        "name another tag",
    ]


def test_a_nested_tag_may_not_name_another_parent():
    found = problems("""\
        tags:
          - id: a
            label_sv: A
            priority: 1
            children:
              - {id: a1, label_sv: A1, parent: b}
          - {id: b, label_sv: B, priority: 1}
        """)
    assert found == ["taxonomy.yaml:6: tags[0].children[0].parent: says parent 'b' but is "
                     "nested under 'a'; remove `parent:` from a nested tag, or move the tag"]


@pytest.mark.parametrize("value, message", [
    ("5", "5 is not a priority; write 1 (highest), 2 or 3"),
    ("0", "0 is not a priority; write 1 (highest), 2 or 3"),
    ("hög", "'hög' is not a priority; write 1 (highest), 2 or 3"),
    ("1.5", "1.5 is not a priority; write 1 (highest), 2 or 3"),
])
def test_bad_priority(value, message):
    assert problems(f"""\
        tags:
          - id: mik
            label_sv: MIK
            priority: {value}
        """) == [f"taxonomy.yaml:4: tags[0].priority: {message}"]


def test_missing_priority_on_a_top_level_tag():
    assert problems("""\
        tags:
          - id: mik
            label_sv: MIK
        """) == ["taxonomy.yaml:2: tags[0]: missing required key `priority`; a top-level tag "
                 "needs one: 1 (highest), 2 or 3"]


@pytest.mark.parametrize("value, suggestion", [
    ("Barn Unga", "barn-unga"), ("läsfrämjande", "lasframjande"), ("MIK", "mik"),
    ("-mik", "mik"),
])
def test_bad_slug_suggests_one(value, suggestion):
    assert problems(f"""\
        tags:
          - id: "{value}"
            label_sv: X
            priority: 1
        """) == [f"taxonomy.yaml:2: tags[0].id: '{value}' is not a valid tag id; use lowercase "
                 f"a-z, 0-9 and '-', e.g. '{suggestion}'"]


def test_missing_label_and_bad_weight():
    found = problems("""\
        tags:
          - id: mik
            priority: 2
            weight: 9
        """)
    assert found == [
        "taxonomy.yaml:2: tags[0]: missing required key `label_sv`",
        "taxonomy.yaml:4: tags[0].weight: 9 is not a weight; write a number from 0 to 5 "
        "(1 = normal, 0 = rules off)",
    ]


@pytest.mark.parametrize("keyword, message", [
    ('""', "the keyword is empty; write a word, e.g. bibliotek or bibliotek*"),
    ('"   "', "the keyword is empty; write a word, e.g. bibliotek or bibliotek*"),
    ('"*"', "`*` alone would match every word; put letters with it, e.g. bibliotek*"),
    ('"**"', "`*` alone would match every word; put letters with it, e.g. bibliotek*"),
    ('"!?."', "'!?.' has no letters or digits, so it can never match; write a word, e.g. "
              "bibliotek*"),
    ('"--"', "'--' has no letters or digits, so it can never match; write a word, e.g. "
             "bibliotek*"),
    ('"bib*tek"', "'bib*tek': `*` may only start or end a word, e.g. läsfrämj*, *bibliotek or "
                  "*bibliotek*"),
    ('"la*"', "'la*' is too short for a wildcard: it would match almost any word; give it at "
              "least 3 letters"),
    ("[a, list]", "must be text, not a list"),
])
def test_keywords_that_can_never_match(keyword, message):
    assert problems(f"""\
        tags:
          - id: mik
            label_sv: MIK
            priority: 2
            keywords:
              - källkritik*
              - {keyword}
        """) == [f"taxonomy.yaml:7: tags[0].keywords[1]: {message}"]


def test_a_keyword_that_is_empty_after_folding_can_never_match():
    with pytest.raises(ValueError, match="no letters or digits"):
        parse_keyword("\u0301\u0308")  # combining accents only: nothing left to match


def test_relevance_keywords_are_checked_too():
    assert problems("""\
        relevance:
          keywords: [bibliotek*, "*"]
        tags:
          - {id: mik, label_sv: MIK, priority: 2}
        """) == ["taxonomy.yaml:2: relevance.keywords[1]: `*` alone would match every word; "
                 "put letters with it, e.g. bibliotek*"]


def test_a_keyword_listed_twice_or_also_excluded():
    found = problems("""\
        tags:
          - id: trygghet
            label_sv: Trygghet
            priority: 2
            keywords:
              - ordningsvakt*
              - Ordningsvakt*
            exclude:
              - ordningsvakt*
        """)
    assert found == [
        "taxonomy.yaml:7: tags[0].keywords[1]: 'Ordningsvakt*' is already in `keywords` at "
        "line 6; list it once",
        "taxonomy.yaml:9: tags[0].exclude[0]: 'ordningsvakt*' is already in `keywords` at "
        "line 6; list it once",
    ]


def test_invalid_yaml_names_line_column_and_fix():
    found = problems("""\
        tags:
          - id: mik
            label_sv MIK
            priority: 2
        """)
    assert len(found) == 1
    assert found[0].startswith("taxonomy.yaml:3: invalid YAML at column")
    assert "a key is missing its colon" in found[0]


def test_empty_file_and_missing_tags():
    assert problems("# bara kommentarer\n") == [
        "taxonomy.yaml:1: the file is empty (or holds only comments); it needs a `tags:` list, "
        "see the comments at the top of the shipped taxonomy.yaml"]
    assert problems("relevance: {keywords: [bok]}\n") == [
        "taxonomy.yaml:1: (top level): missing required key `tags`"]


# --- validation: everything at once -----------------------------------------------------------


def test_every_problem_is_reported_at_once_in_line_order():
    found = problems("""\
        relevance:
          keywords: ["*bibliotek*", "!!"]
        tags:
          - id: lasframjande
            label_sv: Läsfrämjande
            priority: 4
            keywords: [läsfrämj*, ""]
            exclud: [x]
          - id: Barn
            label_sv: Barn
            priority: 1
          - id: lasframjande
            label_sv: Dubblett
            priority: 1
          - id: bokstart
            label_sv: Bokstart
            parent: lasframjand
        """)
    assert [line.split(":")[1] for line in found] == ["2", "6", "7", "8", "9", "12", "17"]
    assert len(found) == 7
    assert all(line.startswith("taxonomy.yaml:") for line in found)
    assert "did you mean `lasframjande`?" in found[-1]
    assert "also used at line 4" in found[5]


def test_config_error_message_lists_the_problems():
    with pytest.raises(ConfigError) as caught:
        parse_taxonomy_text("tags:\n  - {id: A, label_sv: A, priority: 7}\n", "x/taxonomy.yaml")
    text = str(caught.value)
    assert text.splitlines()[0] == "x/taxonomy.yaml: 2 problems"
    assert "x/taxonomy.yaml:2: tags[0].id:" in text and "x/taxonomy.yaml:2: tags[0].priority:" in text


# --- JSON schema ------------------------------------------------------------------------------


def test_json_schema_describes_every_key():
    schema = taxonomy_json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["properties"]) == {"relevance", "tags"}
    entry = schema["$defs"]["TagEntry"]
    assert set(entry["properties"]) == {"id", "label_sv", "label_en", "description", "priority",
                                        "parent", "keywords", "exclude", "weight", "children"}
    assert all(prop.get("description") for prop in entry["properties"].values())
    assert entry["additionalProperties"] is False


def test_an_unchanged_file_is_parsed_once_and_an_edited_one_again(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    first = load_taxonomy(path)
    assert load_taxonomy(path) is first
    path.write_text(SHIPPED.read_text(encoding="utf-8").replace("tags:\n", "tags:\n  - id: evenemang\n    label_sv: Evenemang\n"
                                   "    priority: 3\n", 1), encoding="utf-8")
    again = load_taxonomy(path)
    assert again is not first and again.by_id("evenemang").label_sv == "Evenemang"


def test_a_broken_file_is_reported_every_time_it_is_read(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text("tags:\n  - id: x\n    intervall: 3\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ConfigError):
            load_taxonomy(path)


def test_a_valid_taxonomy_is_read_the_same_by_the_quick_reader():
    """A valid file is read by the C parser, a file with problems by the round-trip reader
    (for line numbers): both must give the same data and so the same taxonomy."""
    packaged = Path(__file__).resolve().parents[2] / "scanner" / "classify" / "data"
    for path in (SHIPPED, packaged / "taxonomy.yaml"):
        text = path.read_text(encoding="utf-8")
        assert load_yaml_quickly(text) == load_yaml_with_positions(text, str(path))[0]
        quick = parse_taxonomy_text.__wrapped__(text, str(path))
        # "!!" anywhere (here in a comment) sends a file to the round-trip reader
        slow = parse_taxonomy_text.__wrapped__("# !! round-trip\n" + text, str(path))
        assert quick == slow and quick.tags and quick.relevance_keywords
