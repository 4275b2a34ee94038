"""A resident's order in one statement (PostgreSQL; the rush path of ``POST /api/v1/supplies/orders``).

The plain case of an order rush — a resident with a bearer token orders for their own household, a
normal-priority household (not sealed, not isolated), in an open window of its community, every line
an offer of that window within its per-household limit and spread over several stock buckets, and a
new idempotency key — is checked and written by one statement, its own commit: the token's check,
the household's priority, the window and the offers are read; then

* with no live order of the household in the window, one free bucket per line is locked (``SKIP
  LOCKED``) and decremented, and the order, its lines, the key's stored answer and the token's
  ``last_used_at`` are written; the statement returns the 201 answer's JSON, which is sent as it is;
* with a live order already (the household orders again with a new key: a second phone, a page
  reloaded after the answer was lost), the duplicate's 409 refusal is stored for the key (with its
  reason, ``ordering.ORDER_TEXTS``' ``duplicate``, as the general path stores it) and returned, and
  no bucket is touched — the general path would lock and decrement a bucket per line,
  fail on the one-live-order index and roll back, some ten round trips with the hot rows locked.

Anything else — a check that does not hold, a line no single free bucket can serve, a key that
exists already (also when a concurrent request wins the race: the unique index refuses the write) —
makes the statement write nothing, and the caller takes the general path
(:func:`linli.supplies.services.ordering.submit_order`), which gives the same answers with their
reasons. The answers are the same either way: ``test_order_rush_path.py`` compares the two.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import IntegrityError, connection

from linli.accounts.choices import Role
from linli.accounts.models import ApiToken, User
from linli.lib import prepared
from linli.lib.apiauth import LAST_USED_RESOLUTION
from linli.registry.models import Household
from linli.supplies.choices import OrderStatus, PaymentMode, Priority, WindowStatus
from linli.supplies.models import IdempotencyKey, Offer, OfferBucket, Order, OrderLine, OrderWindow
from linli.supplies.services.ordering import (
    DUPLICATE_MESSAGE,
    HOUSEHOLD_PLACE,
    KEY_MAX_LENGTH,
    MAX_LINES,
    MAX_QUANTITY,
    REFUSAL_STATUS,
    priority_sql,
    request_hash,
    sql_literal,
)

PAYMENT_MODES = frozenset(PaymentMode.values)
PLACES = HOUSEHOLD_PLACE[1:]  # the household's places in the tree, street to unit


@functools.cache
def _sql() -> str:
    """The statement (made once); its parameters are named (see :func:`place`)."""
    table = {
        model: connection.ops.quote_name(model._meta.db_table)
        for model in (
            ApiToken,
            User,
            Household,
            OrderWindow,
            Offer,
            OfferBucket,
            Order,
            OrderLine,
            IdempotencyKey,
        )
    }
    placed, normal = sql_literal(OrderStatus.PLACED.value), int(Priority.NORMAL)
    sealed, isolated = priority_sql("h")
    resolution = int(LAST_USED_RESOLUTION.total_seconds())
    duplicate_status = REFUSAL_STATUS["duplicate"]
    places = ", ".join(PLACES)
    return f"""
WITH t AS (
  SELECT t.id AS token_id, t.last_used_at, u.id AS user_id
  FROM {table[ApiToken]} t JOIN {table[User]} u ON u.id = t.user_id
  WHERE t.key_hash = %(key_hash)s AND t.revoked_at IS NULL AND u.is_active
    AND u.role = {sql_literal(Role.RESIDENT.value)} AND u.household_id = %(household)s
), h AS (
  SELECT h.id, {", ".join(f"h.{place}" for place in PLACES)}
  FROM t, {table[Household]} h
  WHERE h.id = %(household)s
    AND NOT {sealed} AND NOT {isolated}
), w AS (
  SELECT w.id, w.supplier_id
  FROM h, {table[OrderWindow]} w
  WHERE w.id = %(window)s AND w.status = {sql_literal(WindowStatus.PUBLISHED.value)}
    AND w.opens_at <= now() AND now() < w.cutoff_at AND w.community_id = h.community_id
), v AS (
  -- Each line's offer by its primary key (OFFSET 0 keeps the window's condition out of the lookup:
  -- given it, the planner may read every offer of the window, 200 of them in a large one).
  SELECT v.offer_id, v.quantity, o.price, o.price * v.quantity AS amount
  FROM w, unnest(%(offers)s, %(quantities)s) AS v (offer_id, quantity),
  LATERAL (SELECT window_id, price, per_household_limit, buckets FROM {table[Offer]}
           WHERE id = v.offer_id OFFSET 0) o
  WHERE o.window_id = w.id AND o.buckets > 1
    AND (o.per_household_limit IS NULL OR v.quantity <= o.per_household_limit)
), fresh AS (
  -- Every line is the window's, within its limit, and the key is new: the order is placed (ok), or
  -- refused as a duplicate when the household has a live order in the window (dup).
  SELECT NOT EXISTS (SELECT 1 FROM {table[Order]} x
                     WHERE x.window_id = %(window)s AND x.household_id = %(household)s AND x.status = {placed})
         AS first
  FROM t
  WHERE (SELECT count(*) FROM v) = %(n)s
    AND NOT EXISTS (SELECT 1 FROM {table[IdempotencyKey]} k WHERE k.user_id = t.user_id AND k.key = %(key)s)
), ok AS (
  SELECT 1 FROM fresh WHERE first
), dup AS (
  SELECT 1 FROM fresh WHERE NOT first
), c AS (
  SELECT v.quantity, (
    SELECT id FROM {table[OfferBucket]}
    WHERE offer_id = v.offer_id AND NOT reserved AND remaining >= v.quantity
    ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED
  ) AS bucket_id
  FROM v WHERE EXISTS (SELECT 1 FROM ok)
), b AS (
  UPDATE {table[OfferBucket]} SET remaining = remaining - c.quantity FROM c
  WHERE {table[OfferBucket]}.id = c.bucket_id AND (SELECT count(bucket_id) FROM c) = %(n)s
  RETURNING 1
), o AS (
  INSERT INTO {table[Order]} ({places}, household_id, window_id, supplier_id, status, priority, payment_mode,
                              total, placed_by_id, is_proxy, note, created_at)
  SELECT {", ".join(f"h.{place}" for place in PLACES)}, h.id, w.id, w.supplier_id, {placed}, {normal},
         %(payment_mode)s, (SELECT sum(amount) FROM v), t.user_id, false, %(note)s, now()
  FROM t, h, w WHERE (SELECT count(*) FROM b) = %(n)s
  RETURNING id, total
), a AS (
  SELECT 201 AS status, json_build_object(
    'id', o.id, 'window', %(window)s, 'household', %(household)s, 'status', {placed}, 'priority', {normal},
    'payment_mode', %(payment_mode)s, 'total', o.total::text, 'is_proxy', false,
    'lines', (SELECT json_agg(json_build_object('offer', v.offer_id, 'quantity', v.quantity,
                                                'price', v.price::text, 'amount', v.amount::text)
                              ORDER BY v.offer_id) FROM v)
  ) AS answer
  FROM o
  UNION ALL
  -- ordering.refusal_answer of the duplicate's refusal (nothing taken, nothing placed).
  SELECT {duplicate_status}, json_build_object('detail', %(duplicate)s::text, 'errors', json_build_object(),
                                               'code', 'duplicate')
  FROM dup
), l AS (
  INSERT INTO {table[OrderLine]} (order_id, offer_id, quantity, from_reserved, price, amount, short)
  SELECT o.id, v.offer_id, v.quantity, 0, v.price, v.amount, 0 FROM o, v
), k AS (
  INSERT INTO {table[IdempotencyKey]} (user_id, key, request_hash, status_code, response, created_at)
  -- The duplicate's refusal is stored with its reason, as the general path stores it (worded again
  -- from it, in the language of the one asking, when the key is replayed).
  SELECT t.user_id, %(key)s, %(request_hash)s, a.status,
         CASE WHEN a.status = {duplicate_status}
              THEN a.answer::jsonb || jsonb_build_object('reason', {sql_literal("duplicate")})
              ELSE a.answer::jsonb END,
         now()
  FROM t, a
), touched AS (
  UPDATE {table[ApiToken]} SET last_used_at = now() FROM t, a
  WHERE {table[ApiToken]}.id = t.token_id
    AND (t.last_used_at IS NULL OR t.last_used_at <= now() - interval '{resolution} seconds')
)
SELECT status, answer::text FROM a"""


def plain_lines(body: dict[str, Any]) -> tuple[list[int], list[int]] | None:
    """The body's lines as (offer ids, quantities) in ascending offer order — the order every path
    locks bucket rows in — or None when they are not plainly valid (the general path says why)."""
    lines = body.get("lines") or []
    if not 1 <= len(lines) <= MAX_LINES:
        return None
    pairs = sorted((line["offer"], line["quantity"]) for line in lines)
    offers = [offer for offer, _quantity in pairs]
    quantities = [quantity for _offer, quantity in pairs]
    if len(set(offers)) != len(offers) or not all(1 <= quantity <= MAX_QUANTITY for quantity in quantities):
        return None
    return offers, quantities


def place(*, key_hash: str, key: str, body: dict[str, Any]) -> tuple[int, str] | None:
    """Place the resident's order in one statement: (201, the answer's JSON text), or (409, the
    duplicate's refusal) when the household has a live order in the window already (stored for the
    key as the general path stores it; no stock is touched); None when nothing was written and the
    general path must answer (see the module's docstring). ``body`` is the validated request body
    (``OrderIn``'s fields), ``key`` the ``Idempotency-Key`` header."""
    key = key.strip()
    lines = plain_lines(body)
    if connection.vendor != "postgresql" or not connection.get_autocommit() or lines is None:
        return None
    mode = body.get("payment_mode") or PaymentMode.ON_DELIVERY.value
    if not key or len(key) > KEY_MAX_LENGTH or mode not in PAYMENT_MODES:
        return None
    params = {
        "key_hash": key_hash,
        "household": body["household"],
        "window": body["window"],
        "offers": lines[0],
        "quantities": lines[1],
        "n": len(lines[0]),
        "payment_mode": mode,
        "note": body.get("note") or "",
        "key": key,
        "request_hash": request_hash(body),
        "duplicate": str(DUPLICATE_MESSAGE),
    }
    try:
        rows = prepared.fetch(_sql(), params)
    except IntegrityError:
        # A concurrent request wrote this key or this household's live order first: the statement
        # wrote nothing, and the general path answers (a replay, or the duplicate's refusal).
        return None
    return (rows[0][0], rows[0][1]) if rows else None
