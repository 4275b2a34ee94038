"""The delivery pages: drop-off points, a window's runs and problems, the volunteer's page and its worker."""

from __future__ import annotations

import datetime
import json
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.lib.testing import Personas
from linli.supplies.choices import PackageStatus, Priority
from linli.supplies.models import DeliveryRun, DropOffPoint, Package, Supplier
from linli.supplies.services.aggregation import aggregate
from linli.supplies.services.delivery import package_undelivered, run_create
from linli.supplies.services.ordering import place_order
from linli.supplies.testing import open_window
from linli.supplies.tests.test_delivery_fixtures import T0, aggregated

pytestmark = pytest.mark.django_db


def as_(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_drop_off_pages(personas: Personas) -> None:
    tree = personas.tree
    worker = as_(personas.grid_worker)
    url = reverse("supplies:drop_offs")
    assert as_(personas.resident).get(url).status_code == 403
    page = worker.post(
        url, {"compound": tree.p1.pk, "name": "东门投放点", "location": "岗亭旁", "buildings": [tree.b2.pk]}
    )
    assert page.status_code == 302
    point = DropOffPoint.objects.get()
    assert list(point.buildings.all()) == [tree.b2]
    # A compound of another grid is not offered to the grid worker.
    refused = worker.post(url, {"compound": tree.p2.pk, "name": "南门"})
    assert refused.status_code == 200 and not DropOffPoint.objects.filter(name="南门").exists()
    listing = as_(personas.building_lead).get(url).content.decode()
    assert "东门投放点" in listing and "2号楼" in listing and "drop-off-add" not in listing
    edit = reverse("supplies:drop_off_edit", args=[point.pk])
    assert as_(personas.outsider).get(edit).status_code == 404
    assert as_(personas.building_lead).get(edit).status_code == 403
    saved = worker.post(edit, {"name": "东门投放点", "location": "新位置", "is_active": "on"})
    assert saved.status_code == 302
    point.refresh_from_db()
    assert point.location == "新位置" and not point.buildings.exists()
    sign = reverse("supplies:drop_off_sign", args=[point.pk])
    assert as_(personas.building_lead).get(sign)["Content-Type"] == "application/pdf"
    assert as_(personas.outsider).get(sign).status_code == 404


def test_window_page_makes_runs_and_resolves_problems(personas: Personas) -> None:
    d = aggregated(personas, keys=("101", "102"))
    worker = as_(personas.grid_worker)
    url = reverse("supplies:delivery_window", args=[d.window.pk])
    assert as_(personas.outsider).get(url).status_code == 404
    assert as_(personas.building_lead).get(url).status_code == 403
    index = worker.get(reverse("supplies:delivery_index")).content.decode()
    assert url in index
    page = worker.get(url)
    assert page.status_code == 200 and "东门投放点" in page.content.decode()
    made = worker.post(url, {"drop_off": d.point.pk, "volunteer": personas.building_lead.pk})
    assert made.status_code == 302
    run = DeliveryRun.objects.get()
    assert run.volunteer == personas.building_lead and run.packages.count() == 2
    package_undelivered(d.packages["101"], reason="家中无人", actor=personas.building_lead)
    assert "家中无人" in worker.get(url).content.decode()
    resolve = reverse("supplies:package_resolve", args=[d.packages["101"].pk])
    assert as_(personas.outsider).post(resolve, {"resolution": "returned"}).status_code == 404
    # the form offers no outcome ready-made: 处理 without choosing records nothing
    assert '<option value="" selected>请选择处理结果</option>' in worker.get(url).content.decode()
    worker.post(resolve, {"resolution": "", "note": ""})
    assert Package.objects.get(pk=d.packages["101"].pk).status == PackageStatus.UNDELIVERED
    worker.post(resolve, {"resolution": "returned", "note": "退回"})
    assert Package.objects.get(pk=d.packages["101"].pk).status == PackageStatus.RETURNED


def test_volunteer_page_lists_the_run_and_reports_undelivered(personas: Personas) -> None:
    d = aggregated(personas, keys=("101", "B2-101"))
    Package.objects.filter(pk=d.packages["B2-101"].pk).update(contactless=True)
    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    lead = as_(personas.building_lead)
    assert lead.get(reverse("supplies:delivery_index"))["Location"] == reverse("supplies:delivery_mine")
    page = lead.get(reverse("supplies:delivery_mine"))
    html = page.content.decode()
    # The building lead of B1 carries the B2 package of their run too.
    assert "1号楼1单元101" in html and "2号楼1单元101" in html and "无接触" in html
    config = json.loads(json.dumps(page.context["config"]))
    assert config["packages"][d.packages["B2-101"].handover_code]["contactless"] is True
    assert config["urls"]["sync"] == "/api/v1/supplies/handovers/sync"
    assert "delivery-config" in html and "handover.js" in html
    # Nobody else sees these packages on their page.
    assert "1号楼1单元101" not in as_(personas.grid_worker).get(reverse("supplies:delivery_mine")).content.decode()
    assert as_(personas.resident).get(reverse("supplies:delivery_mine")).status_code == 403
    undelivered = reverse("supplies:package_undelivered", args=[d.packages["101"].pk])
    assert as_(personas.outsider).post(undelivered, {"reason": "x"}).status_code == 404
    lead.post(undelivered, {"reason": "家中无人"})
    assert Package.objects.get(pk=d.packages["101"].pk).status == PackageStatus.UNDELIVERED


def test_undelivered_form_sent_twice_is_recorded_once(personas: Personas) -> None:
    # given: a volunteer's page without its script (an old phone); each 无法送达 form carries its own uuid
    d = aggregated(personas, keys=("101", "B2-101"))
    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    lead = as_(personas.building_lead)
    html = lead.get(reverse("supplies:delivery_mine")).content.decode()
    uuids = re.findall(r'name="client_uuid" value="([0-9a-f-]{36})"', html)
    assert len(uuids) == 2 and len(set(uuids)) == 2
    assert uuids != re.findall(
        r'name="client_uuid" value="([0-9a-f-]{36})"', lead.get(reverse("supplies:delivery_mine")).content.decode()
    )
    url = reverse("supplies:package_undelivered", args=[d.packages["101"].pk])
    form = {"reason": "家中无人", "client_uuid": uuids[0]}
    # when: the post is sent twice (a double tap, the browser resending it)
    first = lead.post(url, form, follow=True)
    second = lead.post(url, form, follow=True)
    # then: one record, and the second answer is the same success, not an error
    recorded = AuditEvent.objects.filter(model="supplies.Package", object_pk=str(d.packages["101"].pk))
    assert [event.changes["status"] for event in recorded] == [["out", "undelivered"]]
    for page in (first, second):
        shown = [str(m) for m in page.context["messages"]]
        assert shown == ["已登记未送达：" + d.packages["101"].household.address], shown
    # a second report of the same package from a new form (a new uuid) is refused as before
    again = lead.post(url, {"reason": "家中无人", "client_uuid": str(uuid.uuid4())}, follow=True)
    assert [m.level_tag for m in again.context["messages"]] == ["error"]
    assert Package.objects.get(pk=d.packages["101"].pk).status == PackageStatus.UNDELIVERED


def test_service_worker_is_served_with_its_scope(personas: Personas) -> None:
    response = Client().get(reverse("supplies:delivery_sw"))
    assert response.status_code == 200
    assert response["Service-Worker-Allowed"] == reverse("supplies:delivery_index")
    body = response.content.decode()
    assert "supplies/handover.js" in body and reverse("supplies:delivery_mine") in body


def test_door_runs_and_problems_name_their_compound(personas: Personas) -> None:
    # given: 阳光小区 1号楼1单元101 (sealed) and 和谐家园 1号楼1单元101 (no drop-off point) both get their bags
    # at the door; each compound's door deliveries are a run of the community worker; the second was not
    # delivered
    tree = personas.tree
    window = open_window(Supplier.objects.get(name="平价超市"), tree.c1, now=T0)
    offer = window.offers.order_by("pk").first()
    assert offer is not None
    orders = [
        place_order(
            window=window,
            household=tree.households[f"{building.code}/1单元/101"],
            lines=[(offer.pk, 1)],
            actor=personas.community_worker,
            priority=priority,
            now=T0,
        )
        for building, priority in ((tree.b1, Priority.SEALED), (tree.b3, Priority.NORMAL))
    ]
    aggregate(window, actor=personas.community_worker, now=window.cutoff_at + datetime.timedelta(hours=1))
    for compound in (tree.p1, tree.p2):
        run_create(
            window=window,
            drop_off=None,
            compound=compound,
            volunteer=personas.community_worker,
            actor=personas.community_worker,
        )
    package_undelivered(Package.objects.get(order=orders[1]), reason="家中无人", actor=personas.community_worker)
    worker = as_(personas.community_worker)

    # when: the worker reads the window's delivery page and their own delivery page
    page = worker.get(reverse("supplies:delivery_window", args=[window.pk])).content.decode()
    mine = worker.get(reverse("supplies:delivery_mine")).content.decode()

    # then: the two runs and the problem say which compound they are in, not only "送货上门", "1号楼1单元101"
    assert "阳光小区 送货上门" in page and "和谐家园 送货上门" in page
    assert "和谐家园 1号楼1单元101" in page
    assert "阳光小区 送货上门" in mine and "和谐家园 送货上门" in mine
