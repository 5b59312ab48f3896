"""digests/*.yaml: the shipped files, defaults, and every problem at once with file:line and hint."""

from datetime import timedelta
from pathlib import Path

import pytest

from scanner.digest.definitions import load_digests, parse_digest
from scanner.errors import ConfigError
from tests.digest.week import taxonomy

ROOT = Path(__file__).resolve().parents[2]


def problems_of(text: str, with_taxonomy: bool = True) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_digest(text, "digests/chefer.yaml", taxonomy() if with_taxonomy else None)
    return caught.value.problems


def test_the_shipped_digests_are_valid_against_the_taxonomy():
    digests = {d.id: d for d in load_digests(ROOT / "digests", taxonomy())}
    managers, staff = digests["bibliotekschefer"], digests["personal"]
    assert managers.language == "sv" and managers.rising_topics and not managers.source_health
    assert managers.sections == ()  # every top-level tag, in priority order
    assert staff.source_health and staff.items_per_section > managers.items_per_section
    emails = [r.email for d in digests.values() for r in d.recipients]
    assert emails and all(email.endswith("@example.se") for email in emails)
    assert any(r.topics for r in managers.recipients)
    assert any(r.min_priority for r in managers.recipients)


def test_a_minimal_digest_gets_the_defaults():
    digest = parse_digest("title: Veckobrev\nrecipients:\n  - {name: Anna, email: anna@example.se}\n",
                          "digests/veckobrev.yaml", default_id="veckobrev")
    assert digest.id == "veckobrev"
    assert digest.schedule == "0 7 * * mon"
    assert digest.window == timedelta(days=7)
    assert (digest.language, digest.items_per_section, digest.top_count) == ("sv", 5, 3)
    assert digest.rising_topics is True and digest.source_health is False
    assert digest.recipients[0].topics == () and digest.recipients[0].min_priority is None


def test_schedule_window_and_recipient_filters_are_read():
    digest = parse_digest(
        "id: barn\ntitle: Barn och unga\nschedule: '30 6 * * 1'\nwindow: 14d\nlanguage: en\n"
        "sections: [barn-unga, lasframjande]\nrecipients:\n"
        "  - name: Eva\n    email: eva@example.se\n    topics: [barn-unga]\n    min_priority: 2\n",
        "digests/barn.yaml", taxonomy())
    assert digest.schedule == "30 6 * * mon"  # weekday numbers become names
    assert digest.window == timedelta(days=14)
    assert digest.sections == ("barn-unga", "lasframjande")
    assert digest.recipients[0].topics == ("barn-unga",)
    assert digest.recipients[0].min_priority == 2


def test_every_problem_is_reported_at_once_with_line_key_and_hint():
    problems = problems_of(
        "title: Omvärldsbevakning\n"                 # 1
        "schedule: '0 25 * * mon'\n"                 # 2
        "window: en vecka\n"                         # 3
        "language: fi\n"                             # 4
        "items_per_sektion: 5\n"                     # 5
        "sections: [demokrati, lasframjandet]\n"     # 6
        "recipients:\n"                              # 7
        "  - name: Anna\n"                           # 8
        "    email: anna.example.se\n"               # 9
        "    min_priority: 4\n"                      # 10
        "  - name: Erik\n"                           # 11
        "    email: erik@example.se\n"               # 12
        "    topics: [barn-och-unga]\n"              # 13
        "  - name: Erik igen\n"                      # 14
        "    email: Erik@example.se\n")              # 15
    assert problems == [
        "digests/chefer.yaml:2: schedule: '25' is not a valid hour; use 0–23 "
        "(times are Europe/Stockholm)",
        "digests/chefer.yaml:3: window: 'en vecka' is not a duration; write e.g. 7d, 14d or 1w",
        "digests/chefer.yaml:4: language: 'fi' is not allowed here; use one of sv, en",
        "digests/chefer.yaml:5: items_per_sektion: unknown key — did you mean `items_per_section`?",
        "digests/chefer.yaml:6: sections[1]: unknown tag 'lasframjandet': it is not in "
        "taxonomy.yaml — did you mean `lasframjande`?",
        "digests/chefer.yaml:9: recipients[0].email: 'anna.example.se' is not an email address; "
        "write it like anna.berg@example.se (name and address go in separate keys, `name:` and "
        "`email:`)",
        "digests/chefer.yaml:10: recipients[0].min_priority: 4 is not a priority; write 1 (only "
        "the highest), 2 or 3 (all)",
        "digests/chefer.yaml:13: recipients[1].topics[0]: unknown tag 'barn-och-unga': it is not "
        "in taxonomy.yaml — did you mean `barn-unga`?",
        "digests/chefer.yaml:15: recipients[2].email: 'Erik@example.se' is listed twice (also "
        "at line 12); keep one entry",
    ]


def test_an_address_with_swedish_letters_gets_a_hint():
    problems = problems_of("title: T\nrecipients:\n  - {name: Åsa, email: åsa.öberg@example.se}\n")
    assert problems == ["digests/chefer.yaml:3: recipients[0].email: 'åsa.öberg@example.se' has "
                        "letters outside a-z; not every mail server accepts such addresses — "
                        "write the plain form, e.g. asa.oberg@example.se"]


def test_a_recipient_listed_twice():
    problems = problems_of("title: T\nrecipients:\n  - {name: A, email: a@example.se}\n"
                           "  - {name: B, email: A@Example.se}\n")
    assert problems == ["digests/chefer.yaml:4: recipients[1].email: 'A@Example.se' is listed "
                        "twice (also at line 3); keep one entry"]


def test_a_password_in_yaml_points_to_the_environment():
    problems = problems_of("title: T\nsmtp_password: hemligt\nsmtp_host: smtp.example.se\n"
                           "recipients:\n  - {name: A, email: a@example.se}\n")
    assert problems == [
        "digests/chefer.yaml:2: smtp_password: a secret does not belong in a digest file (it "
        "would end up in version control) — remove it and set the environment variable "
        "SCANNER_SMTP_PASSWORD instead",
        "digests/chefer.yaml:3: smtp_host: a server setting does not belong in a digest file (it "
        "would end up in version control) — remove it and set the environment variable "
        "SCANNER_SMTP_HOST instead",
    ]


def test_missing_keys_and_an_empty_file():
    assert problems_of("language: sv\n") == [
        "digests/chefer.yaml:1: (top level): missing required key `title`",
        "digests/chefer.yaml:1: (top level): missing required key `recipients`",
    ]
    assert problems_of("recipients: []\ntitle: T\n") == [
        "digests/chefer.yaml:1: recipients: lists nobody; add at least one recipient, e.g. "
        "`- {name: Anna Berg, email: anna.berg@example.se}`"]
    assert "the file is empty" in problems_of("# bara en kommentar\n")[0]


def test_without_a_taxonomy_only_the_form_of_tag_ids_is_checked():
    digest = parse_digest("title: T\nsections: [nytt-amne]\nrecipients:\n"
                          "  - {name: A, email: a@example.se}\n", "d.yaml")
    assert digest.sections == ("nytt-amne",)
    problems = problems_of("title: T\nsections: [Nytt Ämne]\nrecipients:\n"
                           "  - {name: A, email: a@example.se}\n", with_taxonomy=False)
    assert problems == ["digests/chefer.yaml:2: sections[0]: 'Nytt Ämne' is not a valid tag id; "
                        "use lowercase a-z, 0-9 and '-', e.g. 'nytt-mne'"]


def test_load_digests_reports_every_file_and_duplicate_ids(tmp_path):
    good = "id: veckobrev\ntitle: T\nrecipients:\n  - {name: A, email: a@example.se}\n"
    (tmp_path / "a.yaml").write_text(good, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(good, encoding="utf-8")
    (tmp_path / "c.yaml").write_text("title: T\nrecipients: ingen\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_digests(tmp_path)
    assert caught.value.problems == [
        f"{tmp_path / 'c.yaml'}:2: recipients: must be a list, e.g. [a, b] or lines starting "
        "with '- '; got 'ingen'",
        f"{tmp_path / 'b.yaml'}:1: id: duplicate digest id 'veckobrev' — {tmp_path / 'a.yaml'} "
        "uses it too; give each digest its own id",
    ]
    assert load_digests(tmp_path / "saknas") == []
