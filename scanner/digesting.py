"""Digests for the core: gather what the digest stage needs from the archive, build, preview
(files under var/digests/<digest>/<week>/) and send with the delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scanner.digest.calendar import parse_week, previous_week, previous_weeks, week_bounds
from scanner.digest.content import DigestContent
from scanner.digest.definitions import DigestDefinition, Recipient, load_digests
from scanner.digest.render import RenderedDigest, render_digest
from scanner.digest.select import build_digest, digest_window
from scanner.digest.send import (
    DeliveryResult, OutgoingMessage, SmtpConfig, build_message, send_messages,
)
from scanner.digest.stories import WeekStories, group_stories, group_week
from scanner.digest.tokens import make_unsubscribe_token, unsubscribe_url
from scanner.errors import ScannerError, SettingsError
from scanner.models import Source, Taxonomy

HISTORY_WEEKS = 8


@dataclass(frozen=True)
class DigestInputs:
    """Everything one digest week needs from the archive, gathered once for all recipients."""

    definition: DigestDefinition
    week: str
    items: list
    taxonomy: Taxonomy
    sources: dict[str, Source]
    history: dict[str, list[int]]
    failing: list
    stories: dict[int, int]  # item id -> stored story id
    grouped: WeekStories  # the week's stories, grouped once for every recipient


@dataclass(frozen=True)
class Preview:
    digest_id: str
    week: str
    subject: str
    paths: tuple[Path, ...]
    stories: int


def choose_week(week: str | None, now: datetime) -> str:
    """The ISO week asked for (2026-W48), else the week that just ended."""
    if week is None:
        return previous_week(now)
    try:
        parse_week(week)
    except ValueError as exc:
        raise ScannerError(f"--week '{week}' is not an ISO week: write it like 2026-W48 ({exc})")
    return week


def choose_digests(definitions: list[DigestDefinition], digest_id: str | None
                   ) -> list[DigestDefinition]:
    if digest_id is None:
        return definitions
    chosen = [d for d in definitions if d.id == digest_id]
    if not chosen:
        known = ", ".join(d.id for d in definitions) or "none"
        raise ScannerError(f"unknown digest '{digest_id}': digests/ has {known}")
    return chosen


def definitions(config_dir: Path, taxonomy: Taxonomy) -> list[DigestDefinition]:
    folder = config_dir / "digests"
    if not folder.is_dir():
        raise ScannerError(f"{folder} not found: create it with one YAML file per digest "
                           "(see the README's digests section) or pass --config DIR")
    return load_digests(folder, taxonomy)


def gather(scanner, definition: DigestDefinition, week: str, taxonomy: Taxonomy,
           now: datetime) -> DigestInputs:
    start, end = digest_window(definition, week, now)
    history_start = week_bounds(previous_weeks(week, HISTORY_WEEKS)[0])[0]
    items = scanner.store.items_published_between(min(start, history_start), end)
    sources = {s.id: s for s in scanner.sources()}
    failing = [h for h in scanner.source_health(now)
               if h.error_streak > 0 or h.disabled_reason]
    stories = {i.id: i.story for i in items if i.story is not None}
    return DigestInputs(definition, week, items, taxonomy, sources,
                        history_counts(items, week, taxonomy, sources), failing, stories,
                        group_week(items, stories, sources, (start, end)))


def history_counts(items, week: str, taxonomy: Taxonomy,
                   sources: dict[str, Source]) -> dict[str, list[int]]:
    """Stories per top-level tag in each of the previous weeks (the rising-topics baseline)."""
    counts: dict[str, list[int]] = {tag: [] for tag in taxonomy.top_level}
    for earlier in previous_weeks(week, HISTORY_WEEKS):
        start, end = week_bounds(earlier)
        relevant = [i for i in items if i.relevant is True and start <= i.published < end]
        roots = [{taxonomy.root_of(t) for t in s.tags if _known(taxonomy, t)}
                 for s in group_stories(relevant, {i.id: i.story for i in relevant}, sources)]
        for tag in counts:
            counts[tag].append(sum(tag in story_roots for story_roots in roots))
    return counts


def _known(taxonomy: Taxonomy, tag: str) -> bool:
    try:
        taxonomy.by_id(tag)
        return True
    except KeyError:
        return False


def content_for(inputs: DigestInputs, recipient: Recipient, already_sent: set[int],
                now: datetime) -> DigestContent:
    return build_digest(inputs.definition, inputs.items, inputs.taxonomy, inputs.sources,
                        inputs.stories, inputs.history, inputs.failing, already_sent, recipient,
                        now, inputs.week, grouped=inputs.grouped)


def render_for(inputs: DigestInputs, recipient: Recipient, already_sent: set[int], settings,
               now: datetime) -> RenderedDigest:
    content = content_for(inputs, recipient, already_sent, now)
    return render_digest(content, inputs.definition, recipient, settings.public_url,
                         secret_of(settings), now)


def with_their_stories(sent: set[int], items) -> set[int]:
    """Items already sent, widened to every item of their stories: a story sent last week is
    not news again when another source reprints it this week."""
    stories = {i.story for i in items if i.id in sent}
    return sent | {i.id for i in items if i.story in stories}


def secret_of(settings) -> str:
    if not settings.secret_key:
        raise SettingsError("SCANNER_SECRET_KEY is not set: the digest's feedback and "
                            "unsubscribe links must be signed — set it to a long random "
                            "string, e.g. python -c 'import secrets; "
                            "print(secrets.token_urlsafe(32))'")
    return settings.secret_key


def preview_recipient(definition: DigestDefinition) -> Recipient:
    """Who a preview is rendered for: every topic, nothing sent before."""
    return Recipient(name=definition.title, email="forhandsvisning@example.invalid")


def message_for(rendered: RenderedDigest, definition: DigestDefinition, recipient: Recipient,
                settings, now: datetime):
    token = make_unsubscribe_token(secret_of(settings), definition.id, recipient.email)
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >") or "localhost"
    return build_message(rendered, recipient, settings.mail_from,
                         unsubscribe_url(settings.public_url, token), domain, now)


def write_preview(folder: Path, rendered: RenderedDigest, message) -> tuple[Path, ...]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / "digest.html", folder / "digest.txt", folder / "digest.eml")
    paths[0].write_text(rendered.html, encoding="utf-8")
    paths[1].write_text(rendered.text, encoding="utf-8")
    paths[2].write_bytes(bytes(message))
    return paths


def smtp_config(settings) -> SmtpConfig:
    return SmtpConfig(host=settings.smtp_host, sender=settings.mail_from,
                      port=settings.smtp_port, security=settings.smtp_security,
                      user=settings.smtp_user, password=settings.smtp_password)


def send(scanner, inputs: DigestInputs, now: datetime, dry_run: bool = False,
         backoff: float = 5.0) -> list[DeliveryResult]:
    """One message per recipient; claim before send, record after (see store/digests.py)."""
    store, definition, week = scanner.store, inputs.definition, inputs.week
    outgoing, shown = [], {}
    for recipient in definition.recipients:
        sent_before = with_their_stories(store.already_sent(definition.id, recipient.email),
                                         inputs.items)
        rendered = render_for(inputs, recipient, sent_before, scanner.settings, now)
        shown[recipient.email] = rendered.content.item_ids
        outgoing.append(OutgoingMessage(recipient, message_for(
            rendered, definition, recipient, scanner.settings, now)))
    if dry_run:
        return [DeliveryResult(o.recipient.email, "skipped", 0, None, "dry run: not sent")
                for o in outgoing]

    def record(recipient: Recipient, result: DeliveryResult) -> None:
        if result.outcome != "skipped":  # skipped: the claim belongs to an earlier send
            store.record_delivery(definition.id, week, recipient.email, result.outcome,
                                  result.message or "", shown[recipient.email], now)

    return send_messages(
        outgoing, smtp_config(scanner.settings),
        claim=lambda r: store.claim_delivery(definition.id, week, r.email, now),
        record=record, backoff=backoff)
