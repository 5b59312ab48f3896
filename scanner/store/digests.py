"""The delivery log: each recipient gets a digest at most once, even when `send` runs twice
or crashes halfway. A claim is a row inserted before sending; only a temporary failure
(`deferred`) may be claimed again. A claim left by a crash stays: at most once wins."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, select, update

from scanner.store import upsert
from scanner.store.schema import deliveries, delivered_items, digest_builds

RETRYABLE = "deferred"


def claim(conn: Connection, digest_id: str, week: str, email: str, now: datetime) -> bool:
    key = and_(deliveries.c.digest_id == digest_id, deliveries.c.week == week,
               deliveries.c.email == email)
    upsert.insert_ignore(conn, deliveries, [dict(digest_id=digest_id, week=week, email=email,
                                                 status="new", claimed_at=now, attempts=0)])
    taken = conn.execute(update(deliveries).where(
        and_(key, deliveries.c.status.in_(["new", RETRYABLE])))
        .values(status="claimed", claimed_at=now, attempts=deliveries.c.attempts + 1))
    return taken.rowcount == 1


def record(conn: Connection, digest_id: str, week: str, email: str, status: str, detail: str,
           item_ids: Iterable[int], now: datetime) -> None:
    conn.execute(update(deliveries).where(and_(
        deliveries.c.digest_id == digest_id, deliveries.c.week == week,
        deliveries.c.email == email)).values(status=status, detail=detail, finished_at=now))
    if status == "sent":
        rows = [dict(digest_id=digest_id, week=week, email=email, item_id=i) for i in item_ids]
        if rows:
            conn.execute(delivered_items.insert(), rows)


def already_sent(conn: Connection, digest_id: str, email: str) -> set[int]:
    query = select(delivered_items.c.item_id).where(and_(
        delivered_items.c.digest_id == digest_id, delivered_items.c.email == email))
    return set(conn.execute(query).scalars())


def delivery_log(conn: Connection, digest_id: str, week: str) -> list[dict]:
    query = select(deliveries).where(and_(deliveries.c.digest_id == digest_id,
                                          deliveries.c.week == week)).order_by(deliveries.c.email)
    return [dict(row) for row in conn.execute(query).mappings()]


def save_build(conn: Connection, digest_id: str, week: str, subject: str,
               item_ids: list[int], now: datetime) -> None:
    conn.execute(digest_builds.insert().values(digest_id=digest_id, week=week, built_at=now,
                                               subject=subject, items=json.dumps(item_ids)))
