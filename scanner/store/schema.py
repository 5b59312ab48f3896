"""Table definitions. Times are stored as naive UTC and read back as aware UTC."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
    Table, Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, whatever the engine keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; pass UTC-aware times")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

source_state = Table(
    "source_state", metadata,
    Column("source_id", String(100), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    Column("next_fetch", UTCDateTime),
    Column("error_streak", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_error_key", String(100)),
    Column("last_success", UTCDateTime),
    Column("last_attempt", UTCDateTime),
    Column("disabled_reason", Text),
    Column("moved_to", Text),
    Column("url", Text),
    Column("page_text", Text),
)

fetch_log = Table(
    "fetch_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(100), nullable=False, index=True),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("status", Integer),
    Column("error_key", String(100)),
    Column("message", Text),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("elapsed", Float, nullable=False, default=0.0),
)

items = Table(
    "items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("canonical_url", Text),
    Column("url", Text),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("content_html", Text, nullable=False),
    Column("published", UTCDateTime, nullable=False),
    Column("date_missing", Boolean, nullable=False, default=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_changed", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("lang", String(10), nullable=False),
    Column("author", Text),
    Column("revision", Integer, nullable=False, default=1),
    Column("source_id", String(100), nullable=False),  # the source that first carried it
    Column("relevant", Boolean),  # automatic verdict; None until tagged (labels win over it)
    Column("tagged_at", UTCDateTime),
    Column("tagger_version", String(100)),
    Column("story_id", Integer, index=True),  # the first item of its story
    Column("story_tokens", Text),
    Column("story_bands", Text),  # space-separated LSH band keys (store.stories)
    Index("ix_items_published", "published"),
    Index("ix_items_canonical_url", "canonical_url"),
)

item_sources = Table(
    "item_sources", metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("source_id", String(100), nullable=False),
    Column("identity", Text, nullable=False),
    Column("url", Text),
    Column("first_seen", UTCDateTime, nullable=False),
    UniqueConstraint("source_id", "identity", name="uq_item_sources_identity"),
    Index("ix_item_sources_item", "item_id"),
)

labels = Table(
    "labels", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("tag", String(100)),  # None for a relevant / irrelevant verdict
    Column("action", String(20), nullable=False),  # add | remove | relevant | irrelevant
    Column("who", String(200), nullable=False),
    Column("via", String(20), nullable=False, default="cli"),  # cli | digest | web
    Column("at", UTCDateTime, nullable=False),
    Index("ix_labels_item", "item_id"),
)

tag_models = Table(
    "tag_models", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(100), nullable=False, unique=True),
    Column("trained_at", UTCDateTime, nullable=False),
    Column("info", Text, nullable=False),  # JSON: labels used, their sources, scores
    Column("model", LargeBinary, nullable=False),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest_id", String(100), nullable=False),
    Column("week", String(10), nullable=False),
    Column("email", String(320), nullable=False),
    Column("status", String(20), nullable=False),  # claimed | sent | rejected | deferred
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("detail", Text),
    UniqueConstraint("digest_id", "week", "email", name="uq_deliveries"),
)

delivered_items = Table(
    "delivered_items", metadata,
    Column("digest_id", String(100), nullable=False),
    Column("week", String(10), nullable=False),
    Column("email", String(320), nullable=False),
    Column("item_id", Integer, nullable=False),
    Index("ix_delivered_items_email", "email", "digest_id"),
)

digest_builds = Table(
    "digest_builds", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest_id", String(100), nullable=False),
    Column("week", String(10), nullable=False),
    Column("built_at", UTCDateTime, nullable=False),
    Column("subject", Text, nullable=False),
    Column("items", Text, nullable=False),  # JSON: the item ids shown, in order
)

item_tags = Table(
    "item_tags", metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("tag", String(100), nullable=False),
    Column("origin", String(20), nullable=False),  # source | rule | model | human
    Column("score", Float, nullable=False, default=1.0),
    Column("why", Text),
    UniqueConstraint("item_id", "tag", "origin", name="uq_item_tags"),
)
