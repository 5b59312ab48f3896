"""label, retag, classify, evaluate and train through the real CLI, on a real archive."""

from __future__ import annotations

import json

from tests.test_cli import cli  # noqa: F401 - the fixture
from tests.test_core import RSS, feed

LABELS = [
    {"id": "t1", "source": "Testkälla A", "title": "Bokstart i Åsele",
     "text": "Biblioteket delar ut böcker och läsfrämjande tips till småbarnsfamiljer.",
     "tags": ["lasframjande", "barn-unga"], "relevant": True},
    {"id": "t2", "source": "Testkälla B", "title": "Ny rondell vid torget",
     "text": "Kommunen bygger om korsningen vid torget under våren.", "tags": [],
     "relevant": False},
]


def scanned(cli) -> list[dict]:
    cli.server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    cli.sources(cli.source("lansbibliotek", "/lan.rss"))
    assert cli("scan", *cli.config()).exit_code == 0
    return cli.items_json()


def test_labels_win_over_automatic_tags_and_survive_a_retag(cli):
    item = scanned(cli)[0]
    automatic = item["tags"][0]
    assert cli("label", *cli.config(), str(item["id"]), "--tag", automatic,
               "--remove", "--by", "anna").exit_code == 0
    assert cli("label", *cli.config(), str(item["id"]), "--tag", "beredskap").exit_code == 0
    retag = cli("retag", *cli.config())
    after = next(i for i in cli.items_json() if i["id"] == item["id"])
    assert "re-tagged 2 items" in retag.stdout
    assert automatic not in after["tags"] and "beredskap" in after["tags"]
    human = [t for t in after["tag_details"] if t["origin"] == "human"]
    assert human == [{"id": "beredskap", "score": 1.0, "why": "satt av cli", "origin": "human"}]


def test_irrelevant_label_sets_the_verdict(cli):
    item = scanned(cli)[0]
    result = cli("label", *cli.config(), str(item["id"]), "--irrelevant")
    after = next(i for i in cli.items_json() if i["id"] == item["id"])
    assert result.exit_code == 0 and after["relevant"] is False


def test_label_errors_name_the_fix(cli):
    item = scanned(cli)[0]
    typo = cli("label", *cli.config(), str(item["id"]), "--tag", "lasframjand")
    missing = cli("label", *cli.config(), "99999", "--relevant")
    both = cli("label", *cli.config(), str(item["id"]), "--tag", "mik", "--relevant")
    assert typo.exit_code == 2 and "did you mean `lasframjande`" in typo.stderr
    assert missing.exit_code == 2 and "no item 99999" in missing.stderr
    assert both.exit_code == 2


def test_classify_reads_json_lines_and_answers_in_input_order(cli, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in LABELS),
                    encoding="utf-8")
    result = cli("classify", *cli.config(), str(path))
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0 and [r["id"] for r in rows] == ["t1", "t2"]
    assert rows[0]["relevant"] is True and {"lasframjande", "barn-unga"} <= {
        t["id"] for t in rows[0]["tags"]}
    assert all({"id", "score", "why"} <= set(t) for t in rows[0]["tags"])
    assert rows[1] == {"id": "t2", "relevant": False, "lang": "sv", "tags": []}


def test_classify_bad_input_names_the_line(cli, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "title": "ok"}\nnot json\n', encoding="utf-8")
    result = cli("classify", *cli.config(), str(path))
    assert result.exit_code == 2 and f"{path}:2: not JSON" in result.stderr


def test_evaluate_prints_per_tag_and_averages(cli, tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in LABELS),
                    encoding="utf-8")
    result = cli("evaluate", *cli.config(), "--labels", str(path))
    assert result.exit_code == 0, result.output
    assert "the current tagger" in result.stdout
    for word in ("precision", "recall", "lasframjande", "micro", "macro"):
        assert word in result.stdout
