"""The rush path of ``POST /api/v1/supplies/orders`` (``linli.supplies.services.rush``): a resident's
plain order checked and written by one statement on PostgreSQL. It must answer and store exactly
what the general path does, and write nothing whenever it hands over to the general path.

PostgreSQL only, with real commits (``transaction=True``): inside a test's transaction the rush path
is never taken.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from linli.accounts.models import ApiToken
from linli.accounts.services import api_token_create
from linli.health.choices import SealLevel
from linli.health.services.seals import seal_create
from linli.lib.testing import Personas
from linli.supplies.models import IdempotencyKey, Offer, OfferBucket, Order, OrderWindow, Supplier
from linli.supplies.services import ordering, rush
from linli.supplies.testing import open_window

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the rush path is PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
]

ORDERS = "/api/v1/supplies/orders"


Answer = tuple[int, str] | None


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[Answer]:
    """What every ``rush.place`` call answered (None: handed over to the general path)."""
    seen: list[Answer] = []
    real = rush.place

    def spy(**kwargs: Any) -> Answer:
        seen.append(real(**kwargs))
        return seen[-1]

    monkeypatch.setattr(rush, "place", spy)
    return seen


class Resident:
    def __init__(self, user: Any) -> None:
        self.token, key = api_token_create(user=user, name="phone")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def order(
        self, window: OrderWindow, household: int, *lines: tuple[int, int], key: str, language: str = "", **extra: Any
    ) -> Any:
        body = {
            "window": window.pk,
            "household": household,
            "lines": [{"offer": offer, "quantity": quantity} for offer, quantity in lines],
            **extra,
        }
        headers = {"Idempotency-Key": key, **({"Accept-Language": language} if language else {})}
        return self.client.post(ORDERS, body, content_type="application/json", headers=headers)


def window_with(personas: Personas, buckets: int = 4, **items: int) -> tuple[OrderWindow, list[Offer]]:
    shop = Supplier.objects.get(name="平价超市")
    window = open_window(shop, personas.tree.c1, items=items, buckets=buckets)
    return window, list(window.offers.order_by("pk"))


def left(offer: Offer) -> int:
    return int(OfferBucket.objects.filter(offer=offer).aggregate(n=Sum("remaining"))["n"])


def stored(order_id: int) -> dict[str, Any]:
    """An order as stored, without what differs from one order to the next (ids, times)."""
    order = Order.objects.get(pk=order_id)
    lines = list(order.lines.order_by("offer_id").values("offer_id", "quantity", "from_reserved", "price", "amount"))
    key = IdempotencyKey.objects.get(response__id=order_id)
    return {
        "order": {column: getattr(order, column) for column in ordering.ORDER_COLUMNS if column != "created_at"},
        "lines": lines,
        "shorts": list(order.lines.values_list("short", flat=True)),
        "key": (key.user_id, key.status_code, key.request_hash, key.response),
    }


def test_a_plain_order_is_one_statement_and_stored_as_the_general_path_stores_it(
    personas: Personas, answers: list[Answer], monkeypatch: pytest.MonkeyPatch
) -> None:
    window, (veg, eggs) = window_with(personas, 标准蔬菜包=40, 鸡蛋=40)
    resident = Resident(personas.resident)
    household = personas.resident_household.pk
    ApiToken.objects.filter(pk=resident.token.pk).update(last_used_at=None)
    started = timezone.now()

    extra = {"note": "放门口", "payment_mode": "prepaid"}
    fast = resident.order(window, household, (eggs.pk, 3), (veg.pk, 2), key="k1", **extra)
    assert fast.status_code == 201, fast.content
    assert len(answers) == 1 and answers[0] is not None
    assert fast["Content-Type"] == "application/json; charset=utf-8"
    body = fast.json()
    assert (left(veg), left(eggs)) == (38, 37)
    resident.token.refresh_from_db()
    assert resident.token.last_used_at is not None and resident.token.last_used_at >= started
    fast_stored = stored(body["id"])

    # The same order through the general path, in a window of its own, gives the same answer and rows.
    other, (veg2, eggs2) = window_with(personas, 标准蔬菜包=40, 鸡蛋=40)
    monkeypatch.setattr(rush, "place", lambda **kwargs: None)
    general = resident.order(other, household, (eggs2.pk, 3), (veg2.pk, 2), key="k2", **extra)
    assert general.status_code == 201, general.content
    expected = general.json()

    def same_shape(answer: dict[str, Any], w: OrderWindow, offers: dict[int, int]) -> dict[str, Any]:
        return {
            **answer,
            "id": None,
            "window": answer["window"] == w.pk,
            "lines": [{**line, "offer": offers[line["offer"]]} for line in answer["lines"]],
        }

    assert same_shape(body, window, {veg.pk: 1, eggs.pk: 2}) == same_shape(expected, other, {veg2.pk: 1, eggs2.pk: 2})
    assert body["total"] == "55.50" and body["priority"] == 2 and body["payment_mode"] == "prepaid"
    general_stored = stored(expected["id"])
    for rows in (fast_stored, general_stored):
        rows["order"]["window_id"] = None
        rows["lines"] = [{**line, "offer_id": None} for line in rows["lines"]]
        rows["key"] = (*rows["key"][:3], {**rows["key"][3], "id": None, "window": None, "lines": None})
    assert fast_stored["key"][2] != general_stored["key"][2]  # the bodies differ (window, offers)
    fast_stored["key"] = general_stored["key"] = None
    assert fast_stored == general_stored
    assert Decimal(str(IdempotencyKey.objects.get(response__id=body["id"]).response["total"])) == Decimal("55.50")


def test_a_replay_and_a_reused_key_after_the_rush_path(personas: Personas, answers: list[Answer]) -> None:
    window, (veg, _eggs) = window_with(personas, 标准蔬菜包=40, 鸡蛋=40)
    resident = Resident(personas.resident)
    household = personas.resident_household.pk
    first = resident.order(window, household, (veg.pk, 1), key="same")
    assert first.status_code == 201 and answers[0] is not None
    again = resident.order(window, household, (veg.pk, 1), key="same")
    assert again.status_code == 200 and again.json() == first.json()
    assert answers[1] is None  # the key exists: the general path replays
    reused = resident.order(window, household, (veg.pk, 2), key="same")
    assert reused.status_code == 422 and reused.json()["code"] == "key_reused"
    duplicate = resident.order(window, household, (veg.pk, 1), key="another")
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate"
    assert answers[-1] is not None and answers[-1][0] == 409  # the rush path refused it
    assert Order.objects.filter(window=window).count() == 1 and left(veg) == 39


def test_a_household_ordering_again_is_refused_by_the_rush_path_as_by_the_general_path(
    personas: Personas, answers: list[Answer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second order of a household in a window, with a new key (another phone, a reloaded page):
    the same 409, the same stored refusal, replayed the same way, in the caller's language; no bucket
    is touched and the token is marked used, whichever path answers."""
    resident = Resident(personas.resident)
    household = personas.resident_household.pk
    results = []
    for rush_on in (True, False):
        window, (veg, eggs) = window_with(personas, 标准蔬菜包=40, 鸡蛋=40)
        first = resident.order(window, household, (veg.pk, 1), key=f"first-{rush_on}")
        assert first.status_code == 201
        if not rush_on:
            monkeypatch.setattr(rush, "place", lambda **kwargs: None)
        ApiToken.objects.filter(pk=resident.token.pk).update(last_used_at=None)
        calls = len(answers)
        before = (left(veg), left(eggs), Order.objects.count())
        again = resident.order(window, household, (eggs.pk, 2), (veg.pk, 1), key=f"again-{rush_on}")
        assert (left(veg), left(eggs), Order.objects.count()) == before
        if rush_on:
            assert answers[calls:] == [(409, again.content.decode())]
        stored_key = IdempotencyKey.objects.get(key=f"again-{rush_on}")
        resident.token.refresh_from_db()
        assert resident.token.last_used_at is not None
        replay = resident.order(window, household, (eggs.pk, 2), (veg.pk, 1), key=f"again-{rush_on}")
        # The same key again, the phone now read in English: the stored refusal, worded in English.
        replay_en = resident.order(window, household, (eggs.pk, 2), (veg.pk, 1), key=f"again-{rush_on}", language="en")
        english = resident.order(window, household, (veg.pk, 1), key=f"english-{rush_on}", language="en")
        results.append(
            (
                again.status_code,
                again.json(),
                (stored_key.user_id, stored_key.status_code, stored_key.response),
                (replay.status_code, replay.json()),
                (replay_en.status_code, replay_en.json()),
                (english.status_code, english.json()),
            )
        )
    assert results[0] == results[1]
    status, body, key_row, replayed, replayed_en, english_answer = results[0]
    assert status == 409 and body == {
        "detail": "本户在该窗口已有订单；如需修改，请先取消原订单",
        "errors": {},
        "code": "duplicate",
    }
    # Stored with its reason, so that a replay is worded in the language of the one asking then.
    assert key_row == (personas.resident.pk, 409, {**body, "reason": "duplicate"}) and replayed == (409, body)
    assert english_answer[0] == 409 and english_answer[1]["detail"].startswith("This household already has an order")
    assert replayed_en == english_answer


@pytest.mark.parametrize(
    "case",
    ["sealed", "closed", "limit", "one_bucket", "not_theirs", "no_single_bucket", "revoked", "foreign_offer"],
)
def test_what_the_rush_path_hands_over_writes_nothing_and_is_answered_as_before(
    personas: Personas, answers: list[Answer], case: str
) -> None:
    """Each case once with the rush path on and once with it off: same status, same answer, same stock."""
    results = []
    if case == "sealed":
        seal_create(level=SealLevel.HOUSEHOLD, target=personas.resident_household, actor=personas.community_worker)
    for rush_on in (True, False):
        window, (veg, eggs) = window_with(personas, buckets=1 if case == "one_bucket" else 4, 标准蔬菜包=8, 鸡蛋=40)
        resident = Resident(personas.resident)
        household = personas.resident_household.pk
        lines: list[tuple[int, int]] = [(veg.pk, 1)]
        if case == "closed":
            OrderWindow.objects.filter(pk=window.pk).update(cutoff_at=timezone.now() - datetime.timedelta(minutes=1))
        elif case == "limit":
            Offer.objects.filter(pk=veg.pk).update(per_household_limit=1)
            lines = [(veg.pk, 2)]
        elif case == "not_theirs":
            household = personas.tree.households[f"{personas.tree.b1.code}/1单元/102"].pk
        elif case == "no_single_bucket":
            lines = [(veg.pk, 3), (eggs.pk, 1)]  # veg: 2 per bucket
        elif case == "revoked":
            ApiToken.objects.filter(pk=resident.token.pk).update(revoked_at=timezone.now())
        elif case == "foreign_offer":
            _other, (foreign, _e) = window_with(personas, 标准蔬菜包=8, 鸡蛋=8)
            lines = [(foreign.pk, 1)]
        before = (left(veg), left(eggs), Order.objects.count(), IdempotencyKey.objects.count())
        calls = len(answers)
        if rush_on:
            response = resident.order(window, household, *lines, key=f"{case}-on")
            assert answers[calls:] == [None], case  # handed over
        else:
            real = rush.place
            rush.place = lambda **kwargs: None  # type: ignore[assignment]
            try:
                response = resident.order(window, household, *lines, key=f"{case}-off")
            finally:
                rush.place = real  # type: ignore[assignment]
        after = (left(veg), left(eggs), Order.objects.count(), IdempotencyKey.objects.count())
        answer = response.json() if response.content else None
        if isinstance(answer, dict):
            answer = {key: value for key, value in answer.items() if key not in ("id", "window", "lines", "offer")}
        results.append((response.status_code, answer, tuple(b - a for a, b in zip(before, after, strict=True))))
        Order.objects.filter(household_id=personas.resident_household.pk).update(status="cancelled")
    assert results[0] == results[1], case
    expected_status = {
        "sealed": 201,
        "closed": 422,
        "limit": 422,
        "one_bucket": 201,
        "not_theirs": 403,
        "no_single_bucket": 201,
        "revoked": 401,
        "foreign_offer": 422,
    }[case]
    assert results[0][0] == expected_status, (case, results[0])
    if case == "sealed":
        assert isinstance(results[0][1], dict) and results[0][1]["priority"] == 0


def test_plain_lines_hands_over_what_is_not_plain() -> None:
    line = {"offer": 7, "quantity": 1}
    assert rush.plain_lines({"lines": [{"offer": 9, "quantity": 2}, line]}) == ([7, 9], [1, 2])
    assert rush.plain_lines({"lines": []}) is None
    assert rush.plain_lines({"lines": [line, line]}) is None
    assert rush.plain_lines({"lines": [{"offer": 7, "quantity": 0}]}) is None
    assert rush.plain_lines({"lines": [{"offer": 7, "quantity": ordering.MAX_QUANTITY + 1}]}) is None
    assert rush.plain_lines({"lines": [{"offer": n, "quantity": 1} for n in range(ordering.MAX_LINES + 1)]}) is None


def test_the_answer_is_json_the_general_path_would_replay(personas: Personas, answers: list[Answer]) -> None:
    window, (veg, _eggs) = window_with(personas, 标准蔬菜包=40, 鸡蛋=40)
    response = Resident(personas.resident).order(window, personas.resident_household.pk, (veg.pk, 2), key="j")
    assert answers[0] is not None
    sent = json.loads(response.content)
    assert list(sent) == [
        "id",
        "window",
        "household",
        "status",
        "priority",
        "payment_mode",
        "total",
        "is_proxy",
        "lines",
    ]
    order = Order.objects.get(pk=sent["id"])
    assert sent == ordering.order_answer(order, list(order.lines.all()))


@pytest.mark.parametrize(
    ("extra", "line"),
    [({"note": "门口\x00放"}, (1, 1)), ({}, (2**63, 1)), ({}, (1, 2**63)), ({"household": 2**63}, (1, 1))],
)
def test_a_value_no_column_takes_is_a_422_not_a_500(personas: Personas, extra: dict[str, Any], line: Any) -> None:
    # given a window open for orders, and a body with a NUL in its note or a number past a bigint
    window, (veg, _eggs) = window_with(personas, 标准蔬菜包=8, 鸡蛋=40)
    offer = veg.pk if line[0] == 1 else line[0]
    body = {"household": personas.resident_household.pk, **extra}
    # when the resident's phone sends it (the rush path sees it first)
    response = Resident(personas.resident).order(
        window, body.pop("household"), (offer, line[1]), key="unstorable", **body
    )
    # then it is refused field by field in Chinese, and nothing is stored
    assert response.status_code == 422, response.content
    assert response.json()["detail"] and Order.objects.count() == 0 and left(veg) == 8
