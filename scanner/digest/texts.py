"""Every word a digest reader sees, per language. Swedish is the default; English is available.

Templates take these through `strings(language)`; placeholders are str.format fields.
"""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "sv": {
        "subject": "{title} {week}: {count} {news} i {areas} {area_word}",
        "subject_empty": "{title} {week}: inga nya nyheter",
        "news_one": "nyhet", "news_many": "nyheter",
        "area_one": "prioriterat område", "area_many": "prioriterade områden",
        "period": "Nyheter {span}",
        "sent": "Skickat {date}",
        "top": "Veckans viktigaste",
        "rising": "Ökande ämnen",
        "rising_intro": "Ämnen med minst dubbelt så många nyheter som en vanlig vecka "
                        "(snittet för de åtta veckorna innan) och minst tre nyheter.",
        "rising_line": "{count} nyheter den här veckan, i snitt {average} per vecka tidigare",
        "failing": "Källor med problem",
        "failing_intro": "De här källorna kunde inte hämtas. Kontrollera adressen i "
                         "sources.yaml eller kör kommandot scanner sources check.",
        "failing_none": "Alla källor hämtades utan problem den här veckan.",
        "failing_streak": "{count} misslyckade hämtningar i rad",
        "failing_last_ok": "senast hämtad {date}",
        "failing_never": "aldrig hämtad",
        "failing_disabled": "Avstängd: {reason}",
        "failing_moved": "Har flyttat till {url}",
        "also": "Även rapporterat av {names}",
        "why": "Varför",
        "tags": "Ämnen",
        "source_date": "{source}, {date}",
        "feedback_question": "Var nyheten relevant för dig?",
        "feedback_yes": "Ja, relevant",
        "feedback_no": "Nej, inte relevant",
        "read": "Läs",
        "more": "{count} fler nyheter om {label} finns i arkivet.",
        "omitted": "{count} nyheter med lägst rankning fick inte plats i mejlet. "
                   "Du hittar dem i arkivet.",
        "empty": "Inga nya relevanta nyheter den här veckan.",
        "archive": "Sök och bläddra bland alla nyheter i arkivet",
        "about": "Omvärldsbevakningen samlar nyheter från biblioteks- och kulturpolitiska "
                 "källor och sorterar dem efter bibliotekslagens prioriterade områden. "
                 "Dina svar på ”relevant” och ”inte relevant” gör urvalet bättre.",
        "why_you": "Du får det här mejlet på {email} som mottagare av {title}.",
        "unsubscribe": "Avsluta prenumerationen på {title}",
        "unsubscribe_text": "Avsluta prenumerationen",
    },
    "en": {
        "subject": "{title} {week}: {count} {news} in {areas} {area_word}",
        "subject_empty": "{title} {week}: no new items",
        "news_one": "news item", "news_many": "news items",
        "area_one": "priority area", "area_many": "priority areas",
        "period": "News from {span}",
        "sent": "Sent {date}",
        "top": "This week's highlights",
        "rising": "Rising topics",
        "rising_intro": "Topics with at least twice as many items as an ordinary week "
                        "(the average of the eight weeks before) and at least three items.",
        "rising_line": "{count} items this week, {average} a week on average before",
        "failing": "Sources with problems",
        "failing_intro": "These sources could not be fetched. Check their address in "
                         "sources.yaml or run the command scanner sources check.",
        "failing_none": "Every source was fetched without problems this week.",
        "failing_streak": "{count} failed fetches in a row",
        "failing_last_ok": "last fetched {date}",
        "failing_never": "never fetched",
        "failing_disabled": "Disabled: {reason}",
        "failing_moved": "Moved to {url}",
        "also": "Also reported by {names}",
        "why": "Why",
        "tags": "Topics",
        "source_date": "{source}, {date}",
        "feedback_question": "Was this relevant to you?",
        "feedback_yes": "Yes, relevant",
        "feedback_no": "No, not relevant",
        "read": "Read",
        "more": "{count} more items on {label} are in the archive.",
        "omitted": "{count} lowest-ranked items did not fit in this email. "
                   "You will find them in the archive.",
        "empty": "No new relevant items this week.",
        "archive": "Search and browse every item in the archive",
        "about": "The news watch collects items from library and cultural-policy sources and "
                 "sorts them by the priority areas of the Swedish Library Act. Your answers "
                 "“relevant” and “not relevant” improve the selection.",
        "why_you": "You receive this email at {email} as a recipient of {title}.",
        "unsubscribe": "Unsubscribe from {title}",
        "unsubscribe_text": "Unsubscribe",
    },
}


def strings(language: str) -> dict[str, str]:
    """The UI strings of a language; Swedish for any language without its own."""
    return STRINGS.get(language, STRINGS["sv"])


def number(value: float, language: str) -> str:
    """1.5 -> "1,5" in Swedish, "1.5" in English; whole numbers without decimals."""
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return text.replace(".", ",") if language != "en" else text


def plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many
