"""The ordering pages (S3): the resident's own page, proxy orders by grid workers, cancel and confirm."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.health.choices import SealLevel
from linli.health.services.seals import seal_create
from linli.lib.testing import Personas
from linli.supplies.choices import OrderStatus, PackageStatus, Priority
from linli.supplies.models import Offer, OfferBucket, Order, OrderWindow, Package, Supplier, SupplyNotice
from linli.supplies.services.aggregation import aggregate
from linli.supplies.services.catalogue import bundle_set_parts
from linli.supplies.services.delivery import drop_off_create, handover
from linli.supplies.services.ordering import place_order
from linli.supplies.testing import make_item, open_window

pytestmark = pytest.mark.django_db

ME = reverse("supplies:me")
PROXY = reverse("supplies:proxy")


def shop() -> Supplier:
    return Supplier.objects.get(name="平价超市")


def offers(window: OrderWindow) -> dict[str, Offer]:
    return {offer.name: offer for offer in window.offers.all()}


def form_key(html: str, window: OrderWindow) -> str:
    """The idempotency key rendered into the window's form."""
    block = html[html.index(f'id="window-{window.pk}"') :]
    match = re.search(r'name="key" value="([^"]+)"', block)
    assert match, "the form carries no idempotency key"
    return match.group(1)


def post_order(client: Client, url: str, window: OrderWindow, quantities: dict[Offer, int], **extra: Any) -> Any:
    page = client.get(url)
    data = {"key": form_key(page.content.decode(), window), "window": window.pk, "payment_mode": "on_delivery"}
    data.update({f"q{offer.pk}": n for offer, n in quantities.items()})
    data.update(extra)
    return client.post(url, data), data


def left(offer: Offer) -> int:
    return sum(OfferBucket.objects.filter(offer=offer).values_list("remaining", flat=True))


# --- the resident ---


def test_resident_sees_the_open_window_with_prices_stock_and_limits(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1, items={"标准蔬菜包": 5, "鸡蛋": 0}, limit=2)
    client.force_login(personas.resident)
    page = client.get(ME)
    html = page.content.decode()
    assert page.status_code == 200
    assert "平价超市" in html and "标准蔬菜包" in html
    assert "还剩 5 份" in html and "每户限购 2 份" in html
    assert "售罄" in html  # eggs: nothing to sell
    assert form_key(html, window)
    # A fresh key every time the page is drawn: a new order is a new submission.
    assert form_key(client.get(ME).content.decode(), window) != form_key(html, window)


def test_resident_and_grid_worker_see_what_a_bundle_holds(personas: Personas, client: Client) -> None:
    # given: the standard vegetable box is a bundle of 2 斤 cabbage and 1.5 斤 potatoes
    box = make_item(shop(), "标准蔬菜包", price="29.90", unit="份", is_bundle=True)
    cabbage = make_item(shop(), "大白菜", unit="斤")
    potatoes = make_item(shop(), "土豆", unit="斤")
    bundle_set_parts(box, [(cabbage, 2), (potatoes, "1.5")])
    open_window(shop(), personas.tree.c1, items={"标准蔬菜包": 5})

    # when: the resident opens their order page, and the grid worker the household's proxy page
    client.force_login(personas.resident)
    mine = client.get(ME).content.decode()
    client.force_login(personas.grid_worker)
    proxy = client.get(reverse("supplies:proxy_household", args=[personas.resident_household.pk])).content.decode()

    # then: both say what is in the box before anyone orders it blind
    for html in (mine, proxy):
        assert "内含：大白菜 2 斤、土豆 1.5 斤" in html


def test_an_english_reader_sees_the_dates_in_english(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    client.force_login(personas.resident)
    html = client.get(ME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    cutoff = timezone.localtime(window.cutoff_at)
    # "Nov 25, 20:00" and "Nov 26", as the page's other words, not "11月25日"
    assert f"{cutoff:%b} {cutoff.day}, {cutoff:%H:%M}" in html
    assert f"{window.delivery_on:%b} {window.delivery_on.day}" in html
    assert "月" not in html.split("<main", 1)[1]


def test_resident_orders_and_the_answer_says_what_when_and_how(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg, eggs = offers(window)["标准蔬菜包"], offers(window)["鸡蛋"]
    client.force_login(personas.resident)
    answer, _data = post_order(client, ME, window, {veg: 2, eggs: 1})
    html = answer.content.decode()
    order = Order.objects.get()
    assert answer.status_code == 200
    assert "订购成功" in html and f"订单号：{order.pk}" in html and f"合计：{order.total} 元" in html
    assert window.delivery_on.strftime("%-m月%-d日") in html
    assert "送到小区投放点" in html
    assert order.household_id == personas.resident_household.pk
    assert not order.is_proxy and order.placed_by_id == personas.resident.pk
    assert order.total == veg.price * 2 + eggs.price
    assert left(veg) == 98 and left(eggs) == 99


def test_the_answer_names_the_drop_off_point_that_will_serve_the_household(personas: Personas, client: Client) -> None:
    drop_off_create(
        compound=personas.tree.p1, name="东门投放点", location="东门岗亭旁", actor=personas.community_worker
    )
    window = open_window(shop(), personas.tree.c1)
    client.force_login(personas.resident)
    answer, _data = post_order(client, ME, window, {offers(window)["鸡蛋"]: 1})
    assert "送到投放点：东门投放点（东门岗亭旁）" in answer.content.decode()


def test_a_double_tap_or_a_reload_does_not_make_two_orders(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    client.force_login(personas.resident)
    first, data = post_order(client, ME, window, {veg: 1})
    again = client.post(ME, data)
    order = Order.objects.get()
    assert first.status_code == again.status_code == 200
    assert f"订单号：{order.pk}" in again.content.decode()
    assert left(veg) == 99


def test_a_new_order_in_the_same_window_is_refused_while_one_is_live(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    client.force_login(personas.resident)
    post_order(client, ME, window, {veg: 1})
    page = client.get(ME).content.decode()
    assert "本期已经下单" in page and 'name="key"' not in page[page.index(f'id="window-{window.pk}"') :]


def test_sold_out_is_explained_and_the_quantities_are_kept(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1, items={"标准蔬菜包": 10, "鸡蛋": 1})
    veg, eggs = offers(window)["标准蔬菜包"], offers(window)["鸡蛋"]
    client.force_login(personas.resident)
    page = client.get(ME)
    key = form_key(page.content.decode(), window)
    # Someone else takes the last eggs while the resident is choosing.
    neighbour = personas.tree.households[f"{personas.tree.b1.code}/1单元/102"]
    place_order(window=window, household=neighbour, lines=[(eggs.pk, 1)], actor=personas.grid_worker)
    data = {"key": key, "window": window.pk, "payment_mode": "on_delivery", f"q{veg.pk}": 3, f"q{eggs.pk}": 1}
    answer = client.post(ME, data)
    html = answer.content.decode()
    assert answer.status_code == 409
    assert "没有下单成功" in html and "「鸡蛋」已售罄" in html
    assert f'name="q{veg.pk}" id="id-{window.pk}-q{veg.pk}" value="3"' in html
    assert form_key(html, window) != key  # the form is drawn again under a fresh key
    assert not Order.objects.filter(household=personas.resident_household).exists()
    assert left(veg) == 10  # the whole order was rolled back


def test_a_limit_is_explained(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1, limit=2)
    eggs = offers(window)["鸡蛋"]
    client.force_login(personas.resident)
    answer, _data = post_order(client, ME, window, {eggs: 3})
    assert answer.status_code == 422
    assert "「鸡蛋」每户限购 2份" in answer.content.decode()
    assert not Order.objects.exists()


def test_a_refusal_posted_again_after_switching_to_english_is_explained_in_english(
    personas: Personas, client: Client
) -> None:
    """The resident is refused, switches the page to English and reloads (the same form, the same
    key): the first answer stands, said in English."""
    window = open_window(shop(), personas.tree.c1, limit=2)
    eggs = offers(window)["鸡蛋"]
    client.force_login(personas.resident)
    answer, data = post_order(client, ME, window, {eggs: 3})
    assert answer.status_code == 422 and "「鸡蛋」每户限购 2份" in answer.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    again = client.post(ME, data)
    assert again.status_code == 422
    html = again.content.decode()
    assert "The order was not placed:</strong>“鸡蛋” is limited to 2 份 per household" in html
    assert "每户限购" not in html
    assert not Order.objects.exists()


def test_an_empty_or_garbled_form_is_explained(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    client.force_login(personas.resident)
    empty, _data = post_order(client, ME, window, {})
    assert empty.status_code == 400 and "请至少选择一样商品" in empty.content.decode()
    garbled, _data = post_order(client, ME, window, {}, **{f"q{veg.pk}": "两"})
    assert garbled.status_code == 400 and "请填写数量（整数）" in garbled.content.decode()
    assert not Order.objects.exists()


def test_a_closed_window_is_explained(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    client.force_login(personas.resident)
    key = form_key(client.get(ME).content.decode(), window)
    OrderWindow.objects.filter(pk=window.pk).update(cutoff_at=timezone.now() - datetime.timedelta(minutes=1))
    answer = client.post(ME, {"key": key, "window": window.pk, "payment_mode": "on_delivery", f"q{veg.pk}": 1})
    assert answer.status_code == 409 and "已经截单" in answer.content.decode()
    assert not Order.objects.exists()


def test_a_window_of_another_community_is_not_offered(personas: Personas, client: Client) -> None:
    other = open_window(shop(), personas.tree.c2)
    veg = offers(other)["标准蔬菜包"]
    client.force_login(personas.resident)
    assert f'id="window-{other.pk}"' not in client.get(ME).content.decode()
    data = {"key": "k-other", "window": other.pk, "payment_mode": "on_delivery", f"q{veg.pk}": 1}
    assert client.post(ME, data).status_code == 409
    assert not Order.objects.exists()


def test_resident_cannot_choose_community_credit(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    client.force_login(personas.resident)
    assert 'value="credit"' not in client.get(ME).content.decode()
    answer, _data = post_order(client, ME, window, {veg: 1}, payment_mode="credit")
    assert answer.status_code == 400 and not Order.objects.exists()


def test_staff_and_suppliers_are_sent_away_from_the_resident_page(personas: Personas, client: Client) -> None:
    for user in (personas.grid_worker, personas.supplier, personas.community_worker):
        client.force_login(user)
        assert client.get(ME).status_code == 403


def test_orders_shortfalls_and_notices_are_listed(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    order = place_order(
        window=window, household=personas.resident_household, lines=[(veg.pk, 2)], actor=personas.grid_worker
    )
    order.lines.update(short=1)
    SupplyNotice.objects.create(order=order, text="标准蔬菜包缺货 1 份，已退款", **_place(order))
    client.force_login(personas.resident)
    html = client.get(ME).content.decode()
    assert f"订单号 {order.pk}" in html and "缺货 1 份" in html
    assert "标准蔬菜包缺货 1 份，已退款" in html
    assert "代下单" in html  # the grid worker placed it


def _place(order: Order) -> dict[str, Any]:
    return {f"{level}_id": getattr(order, f"{level}_id") for level in ("street", "community", "grid", "compound")} | {
        "building_id": order.building_id,
        "unit_id": order.unit_id,
        "household_id": order.household_id,
    }


def test_resident_cancels_before_cut_off_and_the_stock_goes_back(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    client.force_login(personas.resident)
    post_order(client, ME, window, {veg: 4})
    order = Order.objects.get()
    assert "取消订单" in client.get(ME).content.decode()
    response = client.post(reverse("supplies:order_cancel", args=[order.pk]))
    assert response.status_code == 302 and response["Location"] == ME
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and left(veg) == 100


def test_cancelling_after_cut_off_is_explained(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    order = place_order(
        window=window, household=personas.resident_household, lines=[(veg.pk, 1)], actor=personas.resident
    )
    OrderWindow.objects.filter(pk=window.pk).update(cutoff_at=timezone.now() - datetime.timedelta(minutes=1))
    client.force_login(personas.resident)
    response = client.post(reverse("supplies:order_cancel", args=[order.pk]), follow=True)
    assert "已截单，不能再取消订单" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_nobody_cancels_another_households_order(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    neighbour = personas.tree.households[f"{personas.tree.b1.code}/1单元/102"]
    order = place_order(window=window, household=neighbour, lines=[(veg.pk, 1)], actor=personas.grid_worker)
    for user in (personas.resident, personas.outsider):
        client.force_login(user)
        assert client.post(reverse("supplies:order_cancel", args=[order.pk])).status_code == 404
    client.force_login(personas.building_lead)  # may carry bags, not cancel orders
    assert client.post(reverse("supplies:order_cancel", args=[order.pk])).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_sealed_resident_confirms_a_bag_left_at_the_door(personas: Personas, client: Client) -> None:
    seal_create(level=SealLevel.HOUSEHOLD, target=personas.resident_household, actor=personas.community_worker)
    now = timezone.now() - datetime.timedelta(hours=13)
    window = open_window(shop(), personas.tree.c1, now=now)
    veg = offers(window)["标准蔬菜包"]
    order = place_order(
        window=window, household=personas.resident_household, lines=[(veg.pk, 1)], actor=personas.resident, now=now
    )
    assert order.priority == Priority.SEALED
    aggregate(window, actor=personas.community_worker)
    package = Package.objects.get(order=order)
    client.force_login(personas.resident)
    html = client.get(ME).content.decode()
    assert "您家在封控中" in html and "确认收货" not in html  # not at the door yet
    handover(package.handover_code, actor=personas.grid_worker)
    html = client.get(ME).content.decode()
    assert "已无接触放门口" in html and "确认收货" in html
    # A neighbour cannot confirm it; the household can.
    client.force_login(personas.grid_worker)
    assert client.post(reverse("supplies:package_confirm", args=[package.pk])).status_code == 403
    client.force_login(personas.resident)
    response = client.post(reverse("supplies:package_confirm", args=[package.pk]), follow=True)
    assert "已确认收货" in response.content.decode()
    package.refresh_from_db()
    assert package.status == PackageStatus.CONFIRMED


def test_a_sealed_households_answer_says_it_comes_to_the_door(personas: Personas, client: Client) -> None:
    seal_create(level=SealLevel.HOUSEHOLD, target=personas.resident_household, actor=personas.community_worker)
    window = open_window(shop(), personas.tree.c1, reserved=5)
    veg = offers(window)["标准蔬菜包"]
    client.force_login(personas.resident)
    page = client.get(ME).content.decode()
    assert "封控户" in page and "还剩 100 份" in page  # the reserved units count for a sealed household
    answer, _data = post_order(client, ME, window, {veg: 1})
    assert "送货上门" in answer.content.decode()
    assert Order.objects.get().priority == Priority.SEALED


def test_the_household_page_sends_the_resident_to_ordering(personas: Personas, client: Client) -> None:
    client.force_login(personas.resident)
    html = client.get(reverse("home"), follow=True).content.decode()
    assert "买菜 / 订购物资" in html and ME in html
    client.force_login(personas.grid_worker)
    household = personas.resident_household
    assert "买菜 / 订购物资" not in client.get(reverse("registry:household", args=[household.pk])).content.decode()


# --- proxy orders ---


def test_grid_worker_finds_a_household_and_orders_for_it(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c1)
    veg = offers(window)["标准蔬菜包"]
    household = personas.resident_household
    client.force_login(personas.grid_worker)
    found = client.get(PROXY, {"q": "户主101"}).content.decode()
    assert reverse("supplies:proxy_household", args=[household.pk]) in found
    assert "团结新村" not in found  # C2's 户主101 is outside the grid worker's scope
    url = reverse("supplies:proxy_household", args=[household.pk])
    answer, _data = post_order(client, url, window, {veg: 2}, payment_mode="credit")
    assert answer.status_code == 200 and "订购成功" in answer.content.decode()
    order = Order.objects.get()
    assert order.is_proxy and order.placed_by_id == personas.grid_worker.pk
    assert order.payment_mode == "credit" and order.household_id == household.pk
    listed = client.get(PROXY).content.decode()
    assert "我代下的订单" in listed and url in listed


def test_the_proxy_list_says_where_each_order_is_on_its_way(personas: Personas, client: Client) -> None:
    from linli.supplies.services.delivery import handover
    from linli.supplies.tests.test_delivery_fixtures import out_with_building_lead

    # given: two orders the community worker placed for households; one bag handed over at the door
    d = out_with_building_lead(personas, ("101", "102"))
    handover(d.packages["101"].handover_code, actor=personas.building_lead)
    client.force_login(personas.community_worker)
    page = client.get(PROXY).content.decode()
    rows = {key: page.split(f"#order-{order.pk}", 1)[1].split("</tr>", 1)[0] for key, order in d.orders.items()}
    # then: the list says so, as the resident's own page does, instead of 已下单 for both
    assert "已当面交付" in rows["101"]
    assert "配送中" in rows["102"]


def test_proxy_search_puts_sealed_households_first_and_marks_them(personas: Personas, client: Client) -> None:
    sealed = personas.tree.households[f"{personas.tree.b1.code}/2单元/201"]
    seal_create(level=SealLevel.HOUSEHOLD, target=sealed, actor=personas.community_worker)
    client.force_login(personas.grid_worker)
    html = client.get(PROXY, {"q": "201"}).content.decode()
    found = html[html.index('id="found"') :]
    assert found.index(reverse("supplies:proxy_household", args=[sealed.pk])) < found.index("户主201", 1)
    assert "封控户" in found
    page = client.get(reverse("supplies:proxy_household", args=[sealed.pk])).content.decode()
    assert "封控户：送货上门" in page


def test_proxy_pages_refuse_residents_volunteers_and_suppliers(personas: Personas, client: Client) -> None:
    url = reverse("supplies:proxy_household", args=[personas.resident_household.pk])
    for user in (personas.resident, personas.building_lead, personas.supplier, personas.gate_guard):
        client.force_login(user)
        assert client.get(PROXY).status_code == 403
        assert client.get(url).status_code == 403


def test_proxy_for_a_household_out_of_scope_looks_missing(personas: Personas, client: Client) -> None:
    window = open_window(shop(), personas.tree.c2)
    veg = offers(window)["标准蔬菜包"]
    c2_household = personas.tree.households[f"{personas.tree.b4.code}/1单元/101"]
    g2_household = personas.tree.households[f"{personas.tree.b3.code}/1单元/101"]
    client.force_login(personas.grid_worker)
    for household in (c2_household, g2_household):
        url = reverse("supplies:proxy_household", args=[household.pk])
        assert client.get(url).status_code == 404
        data = {"key": "k1", "window": window.pk, "payment_mode": "on_delivery", f"q{veg.pk}": 1}
        assert client.post(url, data).status_code == 404
    client.force_login(personas.outsider)  # C2's worker may order for C2
    assert client.get(reverse("supplies:proxy_household", args=[c2_household.pk])).status_code == 200
    assert not Order.objects.exists()
