"""sources.yaml: the shipped file, defaults, every problem message, durations, filters, schema."""

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from scanner import config_yaml
from scanner.config import (
    SourceEntry,
    load_sources,
    parse_duration,
    parse_sources_text,
    sources_json_schema,
)
from scanner.config_yaml import (
    load_yaml_quickly,
    load_yaml_with_positions,
    located_problems,
    validate_model,
)
from scanner.errors import ConfigError, UnknownSourceError
from scanner.filters import passes_filters
from scanner.models import Source

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "config"
TAXONOMY_IDS = {
    "demokrati", "mik", "lasframjande", "barn-unga", "skolbibliotek", "tillganglighet",
    "sprak-minoriteter", "digital-delaktighet", "inkludering", "verksamhetsutveckling",
    "kompetens-ledarskap", "styrning-finansiering", "statistik-forskning", "medier-upphovsratt",
    "trygghet", "beredskap", "hallbarhet",
}
SOURCE = """\
sources:
  - id: kb
    name: Kungliga biblioteket
    url: https://www.kb.se/rss
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_sources_text(text)
    return caught.value.problems


def only_problem(text: str) -> str:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def with_key(line: str) -> str:
    """The one-source file with one more key line for that source (it lands on line 5)."""
    return SOURCE + f"    {line}\n"


# --- the shipped sources.yaml -----------------------------------------------------------------


def test_shipped_sources_load_with_at_least_30_unique_sources():
    loaded = load_sources(ROOT / "sources.yaml")
    ids = [source.id for source in loaded.sources]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)
    assert loaded.enabled, "at least some sources have a known feed"


def test_shipped_sources_use_taxonomy_ids_and_explain_disabled_entries():
    loaded = load_sources(ROOT / "sources.yaml")
    assert {tag for source in loaded.sources for tag in source.tags} <= TAXONOMY_IDS
    for source in loaded.sources:
        assert source.enabled or source.notes, f"{source.id} is disabled without a note why"
        assert source.owner, f"{source.id} has no owner"


def test_shipped_defaults_are_the_documented_ones():
    defaults = load_sources(ROOT / "sources.yaml").defaults
    assert defaults["language"] == "sv"
    assert defaults["interval"] == timedelta(hours=1)
    assert defaults["kind"] == "feed"
    assert defaults["enabled"] is True


def test_a_directory_means_its_sources_yaml():
    assert load_sources(ROOT).path == str(ROOT / "sources.yaml")


# --- defaults and the resulting Source --------------------------------------------------------


def test_defaults_are_inherited_and_overridden_per_source():
    loaded = load_sources(DATA / "valid.yaml")
    kb, ifla = loaded.get("kb"), loaded.get("ifla")
    assert kb.interval == timedelta(hours=6) and kb.weight == 1.5 and kb.owner == "anna"
    assert kb.tags == ("styrning-finansiering",) and kb.include == ("bibliotek*",)
    assert kb.language == "sv" and kb.kind == "feed" and kb.enabled
    assert ifla.interval == timedelta(days=1) and ifla.weight == 0.5 and ifla.language == "en"
    assert ifla.tags == () and ifla.owner == "anna" and not ifla.enabled
    assert [source.id for source in loaded.enabled] == ["kb", "kommun-sida"]
    assert loaded.defaults["interval"] == timedelta(hours=6)


def test_html_keys_are_stored_on_the_source():
    page = load_sources(DATA / "valid.yaml").get("kommun-sida")
    assert page.kind == "html"
    assert page.selectors == (("item", "article"), ("title", "h2"), ("link", "h2 a"))
    assert page.max_pages == 3 and page.fetch_article is True


def test_built_in_defaults_without_a_defaults_block():
    source = parse_sources_text(SOURCE).sources[0]
    assert source == Source(id="kb", name="Kungliga biblioteket", url="https://www.kb.se/rss")


def test_unknown_source_id_names_known_ones():
    with pytest.raises(UnknownSourceError, match="kb"):
        parse_sources_text(SOURCE).get("kungliga")


# --- every problem message --------------------------------------------------------------------


def test_unknown_key_gets_a_did_you_mean_hint_and_its_line():
    assert only_problem(with_key("intervall: 2h")) == (
        "sources.yaml:5: sources[0].intervall: unknown key — did you mean `interval`?")


def test_unknown_key_without_a_close_match_lists_the_known_keys():
    assert problems_of("sourcez: []\n") == [
        "sources.yaml:1: (top level): missing required key `sources`",
        "sources.yaml:1: sourcez: unknown key — did you mean `sources`?",
    ]
    assert "known keys are defaults, sources" in only_problem("colour: blue\nsources: []\n")


def test_duplicate_ids_name_both_lines():
    text = SOURCE + "  - id: kb\n    name: KB igen\n    url: https://www.kb.se/annat\n"
    assert only_problem(text) == (
        "sources.yaml:5: sources[1].id: duplicate id 'kb' — also used at line 2; "
        "ids must be unique")


@pytest.mark.parametrize("url", ["www.kb.se/rss", "ftp://www.kb.se/rss", "https://", "/rss"])
def test_bad_url(url):
    problem = only_problem(SOURCE.replace("https://www.kb.se/rss", url))
    assert problem.startswith(
        f"sources.yaml:4: sources[0].url: '{url}' must be an absolute http(s) URL")
    assert "such as https://www.kb.se/rss" in problem


def test_url_without_scheme_suggests_https():
    problem = only_problem(with_key("homepage: www.kb.se"))
    assert problem.endswith("did you mean `https://www.kb.se`?")


def test_bad_duration():
    assert only_problem(with_key("interval: 1 timme")) == (
        "sources.yaml:5: sources[0].interval: '1 timme' is not a duration; "
        "write e.g. 30m, 1h, 6h or 1d")


def test_duration_bounds():
    assert "minimum interval is 5m" in only_problem(with_key("interval: 2m"))
    assert "maximum interval is 7d" in only_problem(with_key("interval: 8d"))


@pytest.mark.parametrize("weight", ["3", "-0.5", "2.01"])
def test_weight_out_of_range(weight):
    assert only_problem(with_key(f"weight: {weight}")) == (
        f"sources.yaml:5: sources[0].weight: {weight} is out of range; "
        "weight must be between 0 and 2 (1 = normal)")


@pytest.mark.parametrize(("line", "message"), [
    ("weight: heavy", "'heavy' is not a number"),
    ("weight: true", "true is not a number"),
    ("enabled: maybe", "'maybe' is not true or false"),
    ("tags: barn-unga", "must be a list, e.g. [a, b] or lines starting with '- '; got 'barn-unga'"),
    ("include: {a: b}", "must be a list"),
    ("owner: [a, b]", "must be text, not a list"),
    ("notes: true", "must be text, not true; put it in quotes"),
    ("selectors: [a]", "must be a mapping of `key: value` lines; got a list"),
    ("max_pages: many", "'many' is not a whole number"),
    ("max_pages: 0", "0 is too small; the minimum is 1"),
    ("weight:", "has no value; write one after the colon, or remove the key"),
    ("language: svenska", "'svenska' is not a language code"),
    ("tags: [Barn och unga]", "'Barn och unga' is not a valid tag id"),
    ("include: ['*']", "'*' has no letters"),
])
def test_wrong_types_and_values(line, message):
    problem = only_problem(with_key(line))
    assert problem.startswith("sources.yaml:5: sources[0].")
    assert message in problem


def test_missing_id_and_url_are_reported_at_the_entry():
    problems = problems_of("sources:\n  - name: Utan id\n")
    assert problems == [
        "sources.yaml:2: sources[0]: missing required key `id`",
        "sources.yaml:2: sources[0]: missing required key `url`",
    ]


def test_unknown_kind_lists_kinds_and_hints():
    assert only_problem(with_key("kind: fed")) == (
        "sources.yaml:5: sources[0].kind: 'fed' is not allowed here; "
        "use one of feed, html, page, auto — did you mean `feed`?")


def test_bad_slug_suggests_one():
    assert only_problem(SOURCE.replace("id: kb", "id: Kungliga Biblioteket")) == (
        "sources.yaml:2: sources[0].id: 'Kungliga Biblioteket' is not a valid id; "
        "use lowercase a-z, 0-9 and '-', e.g. 'kungliga-biblioteket'")


def test_defaults_cannot_hold_identity_keys():
    problem = only_problem("defaults:\n  url: https://www.kb.se/\n" + SOURCE)
    assert problem == ("sources.yaml:2: defaults.url: `url` cannot have a default; "
                       "every source sets its own")


def test_a_problem_in_defaults_is_reported_once():
    second = "  - id: b\n    name: B\n    url: https://b.se/\n"
    problem = only_problem("defaults:\n  interval: soon\n" + SOURCE + second)
    assert problem.startswith("sources.yaml:2: defaults.interval: 'soon' is not a duration")


def test_invalid_yaml_tab_gives_line_and_hint():
    with pytest.raises(ConfigError) as caught:
        load_sources(DATA / "tab_indent.yaml")
    (problem,) = caught.value.problems
    assert problem.startswith(f"{DATA / 'tab_indent.yaml'}:3: invalid YAML at column 1:")
    assert problem.endswith("indent with spaces, not tabs")


def test_invalid_yaml_missing_colon_points_at_the_key():
    with pytest.raises(ConfigError) as caught:
        load_sources(DATA / "missing_colon.yaml")
    (problem,) = caught.value.problems
    assert ":3: invalid YAML" in problem
    assert "a key is missing its colon" in problem


def test_colon_inside_a_plain_value_hints_at_quotes():
    problem = only_problem(with_key("notes: convert to kind: html later"))
    assert problem.startswith("sources.yaml:5: invalid YAML")
    assert "put it in quotes" in problem


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(text):
    assert only_problem(text).startswith("sources.yaml:1: the file is empty")


@pytest.mark.parametrize(("text", "message"), [
    ("sources: kb\n", "sources.yaml:1: sources: must be a list"),
    ("sources:\n", "sources.yaml:1: sources: has no value"),
    ("- id: kb\n", "sources.yaml:1: (top level): must be a mapping of `key: value` lines"),
    ("defaults: {}\n", "sources.yaml:1: (top level): missing required key `sources`"),
    ("sources:\n  - kb\n", "sources.yaml:2: sources[0]: must be a mapping of `key: value` lines"),
])
def test_wrong_file_shape(text, message):
    assert only_problem(text).startswith(message)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_sources(tmp_path / "sources.yaml")
    assert caught.value.problems == [
        f"{tmp_path / 'sources.yaml'}: not found; create it or pass --config DIR"]


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_bytes("sources:\n  - id: kb\n    name: Kulturr\u00e5det\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="save the file as UTF-8"):
        load_sources(path)


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("\ufeff" + SOURCE, encoding="utf-8")
    assert load_sources(path).sources[0].id == "kb"


def test_every_problem_in_one_file_is_reported_at_once_in_line_order():
    path = DATA / "many_problems.yaml"
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert caught.value.problems == [
        f"{path}:3: defaults.interval: '1 timme' is not a duration; write e.g. 30m, 1h, 6h or 1d",
        f"{path}:8: sources[1].id: 'Kultur_Radet' is not a valid id; use lowercase a-z, 0-9 and "
        "'-', e.g. 'kultur-radet'",
        f"{path}:10: sources[1].url: 'www.kulturradet.se/rss' must be an absolute http(s) URL such "
        "as https://www.kb.se/rss — did you mean `https://www.kulturradet.se/rss`?",
        f"{path}:11: sources[1].intervall: unknown key — did you mean `interval`?",
        f"{path}:12: sources[1].weight: 3 is out of range; weight must be between 0 and 2 "
        "(1 = normal)",
        f"{path}:13: sources[2]: missing required key `id`",
        f"{path}:13: sources[2]: missing required key `url`",
        f"{path}:14: sources[2].kind: 'fed' is not allowed here; use one of feed, html, page, auto "
        "— did you mean `feed`?",
        f"{path}:15: sources[3].id: duplicate id 'kb' — also used at line 5; ids must be unique",
        f"{path}:18: sources[3].enabled: 'kanske' is not true or false; write true or false",
    ]
    assert str(caught.value).startswith(f"{path}: 10 problems\n  {path}:3: defaults.interval")


# --- the generic part works for any model (taxonomy.yaml, digests/*.yaml later) ---------------


class Child(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    keywords: list[str] = []


class Tree(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: dict[str, Child]


def test_generic_validation_locates_problems_in_any_model():
    text = ("tags:\n  demokrati:\n    label: Demokrati\n    keyword: [censur]\n"
            "  mik:\n    keywords: x\n")
    data, positions = load_yaml_with_positions(text, "taxonomy.yaml")
    instance, problems = validate_model(Tree, data, positions, "taxonomy.yaml")
    assert instance is None
    assert problems == [
        "taxonomy.yaml:4: tags.demokrati.keyword: unknown key — did you mean `keywords`?",
        "taxonomy.yaml:5: tags.mik: missing required key `label`",
        "taxonomy.yaml:6: tags.mik.keywords: must be a list, e.g. [a, b] or lines starting "
        "with '- '; got 'x'",
    ]


def test_located_problems_without_a_model_gives_no_hint():
    data, positions = load_yaml_with_positions("tags:\n  a:\n    lable: A\n", "t.yaml")
    with pytest.raises(ValidationError) as caught:
        Tree.model_validate(data)
    assert located_problems(caught.value, positions, "t.yaml") == [
        "t.yaml:2: tags.a: missing required key `label`",
        "t.yaml:3: tags.a.lable: unknown key",
    ]
    hinted = located_problems(caught.value, positions, "t.yaml", Tree)
    assert hinted[1] == "t.yaml:3: tags.a.lable: unknown key — did you mean `label`?"


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", timedelta(minutes=30)), ("1h", timedelta(hours=1)), ("6h", timedelta(hours=6)),
    ("1d", timedelta(days=1)), ("90s", timedelta(seconds=90)), ("1h30m", timedelta(minutes=90)),
    ("1h 30m", timedelta(minutes=90)), ("2w", timedelta(weeks=2)), ("10min", timedelta(minutes=10)),
    ("1.5h", timedelta(minutes=90)), (" 1H ", timedelta(hours=1)),
    ("PT1H", timedelta(hours=1)), ("PT30M", timedelta(minutes=30)), ("P1D", timedelta(days=1)),
    ("P1DT6H", timedelta(days=1, hours=6)), ("pt90s", timedelta(seconds=90)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["1 timme", "", "h", "1", "P", "PT", "P1M", "1h-30m", "en dag"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="is not a duration; write e.g. 30m, 1h, 6h or 1d"):
        parse_duration(text)


# --- include / exclude filters ----------------------------------------------------------------


def source(include=(), exclude=()):
    return Source(id="s", name="S", url="https://s.se/", include=tuple(include),
                  exclude=tuple(exclude))


def test_no_filters_keep_everything():
    assert passes_filters(source(), "Vad som helst", "")


def test_include_needs_a_match_in_title_or_text():
    kept = source(include=["bibliotek", "läsning"])
    assert passes_filters(kept, "Nytt bibliotek i Kiruna", "")
    assert passes_filters(kept, "Rubrik", "Om läsning bland unga")
    assert not passes_filters(kept, "Ny simhall", "Öppnar i maj")


def test_keywords_match_whole_words_unless_wildcarded():
    assert not passes_filters(source(include=["bibliotek"]), "Biblioteken stänger", "")
    assert passes_filters(source(include=["bibliotek*"]), "Biblioteken stänger", "")
    assert passes_filters(source(include=["*bibliotek"]), "Nytt folkbibliotek", "")
    assert passes_filters(source(include=["*bibliotek*"]), "Skolbiblioteken växer", "")
    assert not passes_filters(source(include=["*bibliotek"]), "Skolbiblioteken växer", "")


def test_exclude_drops_and_wins_over_include():
    both = source(include=["bibliotek*"], exclude=["sport*"])
    assert passes_filters(both, "Biblioteket öppnar", "")
    assert not passes_filters(both, "Biblioteket visar sportlovsfilm", "")
    assert not passes_filters(source(exclude=["annons"]), "Rubrik", "En ANNONS")


def test_matching_folds_case_including_aao():
    assert passes_filters(source(include=["ÖPPNA BIBLIOTEK"]), "öppna   bibliotek i Älvsbyn", "")
    assert passes_filters(source(include=["älvsbyn"]), "ÄLVSBYN", "")
    assert passes_filters(source(include=["läsfrämj*"]), "LÄSFRÄMJANDE insats", "")
    assert passes_filters(source(include=["å"]), "A\u030a", "")  # decomposed å is still å


# --- JSON Schema ------------------------------------------------------------------------------


def test_schema_is_json_with_a_description_for_every_key():
    schema = json.loads(json.dumps(sources_json_schema()))
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"defaults", "sources"}
    entry, defaults = schema["$defs"]["SourceEntry"], schema["$defs"]["SourceDefaults"]
    for model in (schema, entry, defaults):
        for key, spec in model["properties"].items():
            assert spec.get("description"), f"{key} has no description"
    assert sorted(entry["required"]) == ["id", "name", "url"]
    assert set(entry["properties"]) - set(defaults["properties"]) == {"id", "name", "url"}
    assert entry["properties"]["kind"]["enum"] == ["feed", "html", "page", "auto"]
    assert schema["properties"]["sources"]["items"] == {"$ref": "#/$defs/SourceEntry"}


def test_schema_keys_are_exactly_the_source_fields():
    assert set(SourceEntry.model_fields) == {f.name for f in dataclasses.fields(Source)}


QUICK_YAML = [
    "sources:\n  - {id: kb, name: Kungliga biblioteket, url: 'https://www.kb.se/rss'}\n",
    "defaults: &d\n  language: sv\n  weight: 1.5\nsources:\n  - <<: *d\n    id: a\n    url: x\n",
    "notes: |\n  Rad ett med å ä ö\n  rad två\nlista: [1, 2.5, true, null, ~, 2026-11-23]\n",
    "a: yes\nb: no\nc: 010\nd: 0o10\ne: 1_000\nf: .inf\n1: ett\ng: '07'\n",
    "tom: {}\ninget: []\ntext: \"citat: 'inne' \\u00e5\"\n",
]
NOT_QUICK_YAML = ["", "# bara en kommentar\n", "a: 1\na: 2\n", "a: [1, 2\n", "a:\n\t- 1\n",
                  "%YAML 1.1\n---\na: yes\n", "a: !!str 12\n"]


@pytest.mark.parametrize("text", QUICK_YAML)
def test_the_quick_yaml_reader_gives_the_round_trip_readers_data(text):
    data, _ = load_yaml_with_positions(text, "x.yaml")
    assert load_yaml_quickly(text) == data


@pytest.mark.parametrize("text", NOT_QUICK_YAML)
def test_the_quick_yaml_reader_leaves_problems_and_directives_to_the_round_trip_reader(text):
    assert load_yaml_quickly(text) is None


@pytest.mark.parametrize("path", [ROOT / "sources.yaml", ROOT / "scanner" / "demo_data" /
                                  "sources.yaml"], ids=["shipped", "demo"])
def test_a_valid_sources_file_reads_the_same_by_either_reader(path, monkeypatch):
    text = path.read_text(encoding="utf-8").replace("{base_url}", "http://127.0.0.1:8080")
    quick = parse_sources_text(text, str(path))
    monkeypatch.setattr(config_yaml, "load_yaml_quickly", lambda text: None)
    assert parse_sources_text(text, str(path)) == quick and len(quick.sources) >= 8
