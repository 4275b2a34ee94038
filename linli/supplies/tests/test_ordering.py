"""Ordering services (S3, S4 priority): stock, limits, reserved units, duplicates, cancel, idempotency."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone, translation

from linli.health.choices import SealLevel
from linli.health.models import QuarantineOrder
from linli.health.services import seal_create
from linli.lib.testing import Personas
from linli.supplies import selectors
from linli.supplies.choices import OrderStatus, Priority
from linli.supplies.models import IdempotencyKey, Offer, OfferBucket, Order, OrderLine, OrderWindow, Supplier
from linli.supplies.services import ordering
from linli.supplies.services.ordering import cancel_order, household_priority, place_order, submit_order
from linli.supplies.testing import open_window


def shop() -> Supplier:
    return Supplier.objects.get(name="平价超市")


def offers(window: OrderWindow) -> list[Offer]:
    return list(window.offers.order_by("pk"))


def left(offer: Offer, *, reserved: bool | None = None) -> int:
    qs = OfferBucket.objects.filter(offer=offer)
    if reserved is not None:
        qs = qs.filter(reserved=reserved)
    return int(qs.aggregate(n=Sum("remaining"))["n"] or 0)


def code_of(excinfo: Any) -> str:
    return str(excinfo.value.code)


@pytest.fixture
def window(personas: Personas) -> OrderWindow:
    return open_window(shop(), personas.tree.c1, items={"标准蔬菜包": 10, "鸡蛋": 5}, limit=3)


def test_resident_orders_for_own_household(personas: Personas, window: OrderWindow) -> None:
    veg, eggs = offers(window)
    order = place_order(
        window=window, household=personas.resident_household, lines=[(veg.pk, 2), (eggs.pk, 1)], actor=personas.resident
    )
    assert order.status == OrderStatus.PLACED and not order.is_proxy and order.placed_by == personas.resident
    assert order.priority == Priority.NORMAL
    assert order.total == veg.price * 2 + eggs.price
    assert (left(veg), left(eggs)) == (8, 4)
    assert sorted(OrderLine.objects.filter(order=order).values_list("offer_id", "quantity")) == [
        (veg.pk, 2),
        (eggs.pk, 1),
    ]
    assert order.community_id == personas.tree.c1.pk and order.building_id == personas.tree.b1.pk
    assert selectors.remaining(window) == {veg.pk: (8, 0), eggs.pk: (4, 0)}


def test_proxy_order_records_who_placed_it(personas: Personas, window: OrderWindow) -> None:
    veg, _eggs = offers(window)
    order = place_order(
        window=window, household=personas.resident_household, lines=[(veg.pk, 1)], actor=personas.grid_worker
    )
    assert order.is_proxy and order.placed_by == personas.grid_worker
    from linli.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="create", model="supplies.Order", object_pk=str(order.pk)).exists()


def test_limit_is_enforced(personas: Personas, window: OrderWindow) -> None:
    veg, _eggs = offers(window)
    with pytest.raises(ValidationError) as excinfo:
        place_order(window=window, household=personas.resident_household, lines=[(veg.pk, 4)], actor=personas.resident)
    assert code_of(excinfo) == "limit" and "限购" in excinfo.value.messages[0]
    assert left(veg) == 10 and not Order.objects.exists()


def test_sold_out_rolls_back_the_whole_order(personas: Personas, window: OrderWindow) -> None:
    veg, eggs = offers(window)
    households = list(personas.tree.households.values())
    for household in households[:1]:
        place_order(window=window, household=household, lines=[(eggs.pk, 3)], actor=personas.community_worker)
    with pytest.raises(ValidationError) as excinfo:
        place_order(
            window=window, household=households[1], lines=[(veg.pk, 2), (eggs.pk, 3)], actor=personas.community_worker
        )
    assert code_of(excinfo) == "sold_out" and "鸡蛋" in excinfo.value.messages[0]
    assert (left(veg), left(eggs)) == (10, 2)  # the vegetables taken first were given back
    assert Order.objects.count() == 1


def test_bad_input_is_refused(personas: Personas, window: OrderWindow) -> None:
    veg, _eggs = offers(window)
    household = personas.resident_household
    other = open_window(shop(), personas.tree.c1, items={"大米": 5})
    cases: list[tuple[list[tuple[int, int]], str]] = [
        ([], "empty"),
        ([(veg.pk, 0)], "invalid"),
        ([(veg.pk, 1), (veg.pk, 1)], "invalid"),
        ([(offers(other)[0].pk, 1)], "invalid"),  # an offer of another window
        ([(999999, 1)], "invalid"),
    ]
    for lines, code in cases:
        with pytest.raises(ValidationError) as excinfo:
            place_order(window=window, household=household, lines=lines, actor=personas.resident)
        assert code_of(excinfo) == code, lines
    with pytest.raises(ValidationError) as excinfo:
        place_order(
            window=window, household=household, lines=[(veg.pk, 1)], actor=personas.resident, payment_mode="bitcoin"
        )
    assert code_of(excinfo) == "invalid"
    c2_household = personas.tree.households[f"{personas.tree.b4.code}/1单元/101"]
    with pytest.raises(ValidationError) as excinfo:
        place_order(window=window, household=c2_household, lines=[(veg.pk, 1)], actor=personas.street_command)
    assert code_of(excinfo) == "invalid"
    assert left(veg) == 10 and not Order.objects.exists()


def test_window_not_open(personas: Personas) -> None:
    now = timezone.now()
    window = open_window(shop(), personas.tree.c1, items={"鸡蛋": 5})
    (eggs,) = offers(window)
    household = personas.resident_household
    for moment, message in (
        (now - datetime.timedelta(hours=2), "尚未开放"),
        (now + datetime.timedelta(hours=13), "截单"),
    ):
        with pytest.raises(ValidationError) as excinfo:
            place_order(window=window, household=household, lines=[(eggs.pk, 1)], actor=personas.resident, now=moment)
        assert code_of(excinfo) == "closed" and message in excinfo.value.messages[0]
    OrderWindow.objects.filter(pk=window.pk).update(status="draft")
    with pytest.raises(ValidationError) as excinfo:
        place_order(window=window.pk, household=household, lines=[(eggs.pk, 1)], actor=personas.resident)
    assert code_of(excinfo) == "closed"
    assert left(eggs) == 5


def test_one_live_order_per_household(personas: Personas, window: OrderWindow) -> None:
    veg, eggs = offers(window)
    household = personas.resident_household
    first = place_order(window=window, household=household, lines=[(veg.pk, 1)], actor=personas.resident)
    with pytest.raises(ValidationError) as excinfo:
        place_order(window=window, household=household, lines=[(eggs.pk, 1)], actor=personas.grid_worker)
    assert code_of(excinfo) == "duplicate"
    assert (left(veg), left(eggs)) == (9, 5)
    cancel_order(first, actor=personas.resident)
    # After cancelling, the household may order again.
    second = place_order(window=window, household=household, lines=[(eggs.pk, 2)], actor=personas.resident)
    assert second.pk != first.pk and (left(veg), left(eggs)) == (10, 3)


def test_cancel_returns_stock_to_its_buckets(personas: Personas) -> None:
    window = open_window(shop(), personas.tree.c1, items={"鸡蛋": 20}, reserved=4, buckets=4)
    (eggs,) = offers(window)
    household = personas.resident_household
    order = place_order(
        window=window, household=household, lines=[(eggs.pk, 6)], actor=personas.resident, priority=Priority.SEALED
    )
    line = OrderLine.objects.get(order=order)
    assert line.from_reserved == 4  # all reserved units first, then 2 general
    assert (left(eggs, reserved=True), left(eggs, reserved=False)) == (0, 14)
    cancel_order(order, actor=personas.resident)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.cancelled_by == personas.resident
    assert (left(eggs, reserved=True), left(eggs, reserved=False)) == (4, 16)
    with pytest.raises(ValidationError):
        cancel_order(order, actor=personas.resident)  # twice: refused, stock unchanged
    assert (left(eggs, reserved=True), left(eggs, reserved=False)) == (4, 16)


def test_cancel_after_cutoff_is_refused(personas: Personas, window: OrderWindow) -> None:
    veg, _eggs = offers(window)
    order = place_order(
        window=window, household=personas.resident_household, lines=[(veg.pk, 1)], actor=personas.resident
    )
    with pytest.raises(ValidationError) as excinfo:
        cancel_order(order, actor=personas.resident, now=timezone.now() + datetime.timedelta(hours=13))
    assert code_of(excinfo) == "closed" and left(veg) == 9


def test_reserved_stock_only_for_sealed_and_isolated(personas: Personas) -> None:
    window = open_window(shop(), personas.tree.c1, items={"鸡蛋": 6}, reserved=2, buckets=2)
    (eggs,) = offers(window)
    households = list(personas.tree.households.values())[:6]
    normal = [h for h in households if h != personas.resident_household][:5]
    for household in normal[:4]:
        place_order(window=window, household=household, lines=[(eggs.pk, 1)], actor=personas.street_command)
    assert (left(eggs, reserved=True), left(eggs, reserved=False)) == (2, 0)
    with pytest.raises(ValidationError) as excinfo:
        place_order(window=window, household=normal[4], lines=[(eggs.pk, 1)], actor=personas.street_command)
    assert code_of(excinfo) == "sold_out"
    # The resident's household is sealed: it gets the reserved units.
    seal_create(level=SealLevel.HOUSEHOLD, target=personas.resident_household, actor=personas.community_worker)
    assert household_priority(personas.resident_household) == Priority.SEALED
    order = place_order(
        window=window, household=personas.resident_household, lines=[(eggs.pk, 2)], actor=personas.resident
    )
    assert order.priority == Priority.SEALED and OrderLine.objects.get(order=order).from_reserved == 2
    assert left(eggs) == 0


def test_household_priority_isolated(personas: Personas) -> None:
    household = personas.resident_household
    assert household_priority(household) == Priority.NORMAL
    person = household.members.first()
    assert person is not None
    today = timezone.localdate()
    fields: dict[str, Any] = dict(
        person=person, category="close_contact", starts_on=today, days=7, planned_end=today + datetime.timedelta(days=7)
    )
    from linli.supplies.models import household_kwargs

    QuarantineOrder.objects.create(place="centralized", **fields, **household_kwargs(household))
    assert household_priority(household) == Priority.NORMAL  # in a hotel: the household is not isolated
    QuarantineOrder.objects.all().delete()
    QuarantineOrder.objects.create(place="home", **fields, **household_kwargs(household))
    assert household_priority(household) == Priority.ISOLATED


def test_multi_bucket_take_when_no_single_bucket_holds_the_line(personas: Personas) -> None:
    window = open_window(shop(), personas.tree.c1, items={"鸡蛋": 8}, buckets=4)  # 2 per bucket
    (eggs,) = offers(window)
    order = place_order(
        window=window, household=personas.resident_household, lines=[(eggs.pk, 5)], actor=personas.resident
    )
    assert OrderLine.objects.get(order=order).quantity == 5 and left(eggs) == 3
    assert all(r >= 0 for r in OfferBucket.objects.filter(offer=eggs).values_list("remaining", flat=True))


def test_open_windows(personas: Personas, window: OrderWindow) -> None:
    household = personas.resident_household
    assert list(selectors.open_windows(household)) == [window]
    assert list(selectors.open_windows(household, now=timezone.now() + datetime.timedelta(days=1))) == []
    c2_household = personas.tree.households[f"{personas.tree.b4.code}/1单元/101"]
    assert list(selectors.open_windows(c2_household)) == []


# ----------------------------------------------------------------------------------------------
# submit_order: idempotency


def body(window: OrderWindow, household_id: int, *lines: tuple[int, int], **extra: Any) -> dict[str, Any]:
    return {
        "window": window.pk,
        "household": household_id,
        "lines": [{"offer": offer, "quantity": quantity} for offer, quantity in lines],
        "payment_mode": None,
        "note": "",
        **extra,
    }


def test_submit_replays_the_first_answer(personas: Personas, window: OrderWindow) -> None:
    veg, _eggs = offers(window)
    payload = body(window, personas.resident_household.pk, (veg.pk, 2))
    status, first = submit_order(actor=personas.resident, key="k-1", body=payload)
    assert status == 201 and first["lines"][0]["quantity"] == 2
    status, again = submit_order(actor=personas.resident, key="k-1", body=payload)
    assert status == 200 and again == first
    assert Order.objects.count() == 1 and left(veg) == 8
    # Same key, different body: refused, nothing written.
    status, answer = submit_order(
        actor=personas.resident, key="k-1", body=body(window, personas.resident_household.pk, (veg.pk, 3))
    )
    assert status == 422 and answer["code"] == "key_reused" and "幂等键" in answer["detail"]
    assert Order.objects.count() == 1 and left(veg) == 8
    # A new key for the same household and window: a duplicate order.
    status, answer = submit_order(actor=personas.resident, key="k-2", body=payload)
    assert status == 409 and answer["code"] == "duplicate"
    assert IdempotencyKey.objects.get(key="k-2").status_code == 409
    # Keys are per account: the grid worker's "k-1" is its own.
    status, answer = submit_order(actor=personas.grid_worker, key="k-1", body=payload)
    assert status == 409 and answer["code"] == "duplicate"


def test_submit_replays_a_refusal_even_after_stock_returns(personas: Personas, window: OrderWindow) -> None:
    _veg, eggs = offers(window)
    households = [h for h in personas.tree.households.values() if h.community_id == personas.tree.c1.pk]
    worker = personas.community_worker
    assert submit_order(actor=worker, key="a", body=body(window, households[0].pk, (eggs.pk, 3)))[0] == 201
    assert submit_order(actor=worker, key="b", body=body(window, households[1].pk, (eggs.pk, 2)))[0] == 201
    sold_out = body(window, households[2].pk, (eggs.pk, 1))
    status, answer = submit_order(actor=worker, key="c", body=sold_out)
    assert status == 409 and answer["code"] == "sold_out" and answer["offer"] == eggs.pk and "鸡蛋" in answer["detail"]
    cancel_order(Order.objects.get(household=households[1]), actor=worker)
    assert submit_order(actor=worker, key="c", body=sold_out) == (409, answer)  # the first answer stands
    assert submit_order(actor=worker, key="d", body=sold_out)[0] == 201  # a new key is a new attempt


@pytest.mark.parametrize("case", ["sold_out", "limit", "closed", "duplicate", "empty"])
def test_a_refusal_replayed_is_worded_in_the_language_of_the_one_asking_again(
    personas: Personas, window: OrderWindow, case: str
) -> None:
    """The resident switched the page to English after a refusal and the retry (same key, same body)
    replays it: the same refusal (status, code, offer), worded in English, not in the first language."""
    veg, eggs = offers(window)
    household = personas.resident_household.pk
    now = None
    if case == "sold_out":
        OfferBucket.objects.filter(offer=eggs).update(remaining=0)
        payload = body(window, household, (eggs.pk, 1))
    elif case == "limit":
        payload = body(window, household, (eggs.pk, 4))
    elif case == "closed":
        payload, now = body(window, household, (veg.pk, 1)), timezone.now() + datetime.timedelta(hours=13)
    elif case == "duplicate":
        assert submit_order(actor=personas.resident, key="first", body=body(window, household, (veg.pk, 1)))[0] == 201
        payload = body(window, household, (eggs.pk, 1))
    else:
        payload = body(window, household)
    with translation.override("zh-hans"):
        status, first = submit_order(actor=personas.resident, key="k", body=payload, now=now)
    english = {
        "sold_out": "“鸡蛋” is sold out or there is not enough stock",
        "limit": "“鸡蛋” is limited to 3 份 per household",
        "closed": "This window has passed its cut-off or is not open",
        "duplicate": "This household already has an order in this window",
        "empty": "The order has no items",
    }[case]
    assert status == ordering.REFUSAL_STATUS[first["code"]] and not first["detail"].isascii()
    with translation.override("en"):
        replayed = submit_order(actor=personas.resident, key="k", body=payload, now=now)
    assert replayed[0] == status
    assert replayed[1]["detail"].startswith(english)
    assert replayed[1] == {**first, "detail": replayed[1]["detail"]}  # only the wording differs
    with translation.override("zh-hans"):
        assert submit_order(actor=personas.resident, key="k", body=payload, now=now) == (status, first)


def test_a_refusal_stored_as_text_before_codes_were_kept_still_replays_its_text(
    personas: Personas, window: OrderWindow
) -> None:
    """A refusal stored before its reason was kept (only its text) is replayed as it was stored."""
    _veg, eggs = offers(window)
    payload = body(window, personas.resident_household.pk, (eggs.pk, 4))
    old = {"detail": "「鸡蛋」每户限购 3份", "errors": {}, "code": "limit", "offer": eggs.pk}
    IdempotencyKey.objects.create(
        user_id=personas.resident.pk,
        key="old",
        request_hash=ordering.request_hash(payload),
        status_code=422,
        response=old,
    )
    with translation.override("en"):
        assert submit_order(actor=personas.resident, key="old", body=payload) == (422, old)


def test_an_accepted_order_replays_the_same_in_any_language(personas: Personas, window: OrderWindow) -> None:
    veg, _eggs = offers(window)
    payload = body(window, personas.resident_household.pk, (veg.pk, 2))
    with translation.override("zh-hans"):
        status, first = submit_order(actor=personas.resident, key="ok", body=payload)
    assert status == 201
    with translation.override("en"):
        assert submit_order(actor=personas.resident, key="ok", body=payload) == (200, first)
    assert IdempotencyKey.objects.get(key="ok").response == first


def test_submit_replays_after_window_closes(personas: Personas, window: OrderWindow) -> None:
    veg, _eggs = offers(window)
    payload = body(window, personas.resident_household.pk, (veg.pk, 1))
    _status, first = submit_order(actor=personas.resident, key="x", body=payload)
    later = timezone.now() + datetime.timedelta(hours=13)
    assert submit_order(actor=personas.resident, key="x", body=payload, now=later) == (200, first)


def test_submit_refuses_other_households_and_roles(personas: Personas, window: OrderWindow) -> None:
    veg, _eggs = offers(window)
    other = personas.tree.households[f"{personas.tree.b1.code}/1单元/102"]
    c2_household = personas.tree.households[f"{personas.tree.b4.code}/1单元/101"]
    assert submit_order(actor=personas.resident, key="1", body=body(window, other.pk, (veg.pk, 1)))[0] == 403
    assert submit_order(actor=personas.medic, key="1", body=body(window, other.pk, (veg.pk, 1)))[0] == 403
    assert submit_order(actor=personas.supplier, key="1", body=body(window, other.pk, (veg.pk, 1)))[0] == 403
    assert submit_order(actor=personas.outsider, key="1", body=body(window, other.pk, (veg.pk, 1)))[0] == 404
    # The grid worker (G1) sees C1 but may not edit a C2 household: 404, as missing.
    assert submit_order(actor=personas.grid_worker, key="1", body=body(window, c2_household.pk, (veg.pk, 1)))[0] == 404
    status, answer = submit_order(actor=personas.grid_worker, key="1", body=body(window, other.pk, (veg.pk, 1)))
    assert status == 201 and answer["is_proxy"] is True
    assert submit_order(actor=personas.resident, key="", body=body(window, other.pk, (veg.pk, 1)))[0] == 422
    assert submit_order(actor=personas.resident, key="k" * 101, body=body(window, other.pk, (veg.pk, 1)))[0] == 422
    assert submit_order(actor=personas.resident, key="bad", body={"window": "x"})[0] == 422
    assert Order.objects.count() == 1


def test_refusal_statuses_are_complete() -> None:
    assert set(ordering.REFUSAL_STATUS) == {"closed", "sold_out", "limit", "duplicate", "empty", "invalid"}
