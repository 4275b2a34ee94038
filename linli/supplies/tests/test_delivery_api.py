"""The delivery and money API: success, refusals by role (403), scope (404) and bad input (422)."""

from __future__ import annotations

import datetime
import io
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from linli.lib.testing import Personas, qr_texts
from linli.supplies.choices import PackageStatus
from linli.supplies.models import DeliveryRun, Package
from linli.supplies.tests.test_delivery_fixtures import aggregated

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    """Door photos go to a temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


API = "/api/v1/supplies"


def as_(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, path: str, body: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    return client.post(f"{API}{path}", body or {}, content_type="application/json")


def test_drop_off_points_and_their_sign(personas: Personas) -> None:
    tree = personas.tree
    worker = as_(personas.community_worker)
    body = {"compound_id": tree.p1.pk, "name": "东门投放点", "location": "东门岗亭旁", "building_ids": [tree.b1.pk]}
    created = post(worker, "/drop-offs", body)
    assert created.status_code == 201, created.content
    point = created.json()
    assert point["serves"] == "1号楼"
    assert post(worker, "/drop-offs", body).status_code == 422  # same name
    assert post(as_(personas.building_lead), "/drop-offs", {**body, "name": "x"}).status_code == 403
    assert post(as_(personas.outsider), "/drop-offs", {**body, "name": "x"}).status_code == 404
    assert [p["name"] for p in as_(personas.grid_worker).get(f"{API}/drop-offs").json()] == ["东门投放点"]
    assert as_(personas.outsider).get(f"{API}/drop-offs").json() == []
    assert as_(personas.outsider).get(f"{API}/drop-offs/{point['id']}/sign.pdf").status_code == 404
    assert as_(personas.resident).get(f"{API}/drop-offs/{point['id']}/sign.pdf").status_code == 403
    pdf = as_(personas.building_lead).get(f"{API}/drop-offs/{point['id']}/sign.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "东门投放点" in text and "阳光小区" in text and "1号楼" in text
    decoded = [text for image in reader.pages[0].images for text in qr_texts(image.image.convert("L"))]  # type: ignore[union-attr]
    assert decoded == [f"LLD:{point['id']}"]


def test_run_handover_sync_problem_and_confirm_through_the_api(personas: Personas) -> None:
    d = aggregated(personas, keys=("101", "102", "201"))
    worker = as_(personas.grid_worker)
    lead = as_(personas.building_lead)
    run_body = {"window_id": d.window.pk, "drop_off_id": d.point.pk, "volunteer_id": personas.building_lead.pk}
    assert post(lead, "/runs", run_body).status_code == 403
    assert post(as_(personas.outsider), "/runs", run_body).status_code == 404
    bad = post(worker, "/runs", {**run_body, "volunteer_id": personas.resident.pk})
    assert bad.status_code == 422 and bad.json()["detail"]
    created = post(worker, "/runs", run_body)
    assert created.status_code == 201, created.content
    run_id = created.json()["id"]
    assert created.json()["packages"] == 3

    mine = lead.get(f"{API}/runs").json()
    assert [r["id"] for r in mine] == [run_id]
    detail = lead.get(f"{API}/runs/{run_id}").json()
    assert [p["address"] for p in detail["items"]] == ["1号楼1单元101", "1号楼1单元102", "1号楼1单元201"]
    assert as_(personas.outsider).get(f"{API}/runs/{run_id}").status_code == 404

    code = d.packages["101"].handover_code
    first = post(lead, "/handover", {"code": f"LLP:{code}"})
    assert first.status_code == 200 and first.json()["status"] == "stored"
    second = post(lead, "/handover", {"code": code})
    assert second.json()["status"] == "already" and "已交付" in second.json()["message"]
    refused = post(as_(personas.outsider), "/handover", {"code": code})
    assert refused.status_code == 422 and "未找到" in refused.json()["detail"]
    assert post(as_(personas.resident), "/handover", {"code": code}).status_code == 403

    # Offline: the same uuid synced twice is answered the same, once written.
    scanned_at = (timezone.now() - datetime.timedelta(minutes=30)).replace(microsecond=0)
    item = {"uuid": str(uuid.uuid4()), "code": d.packages["102"].handover_code, "device_time": scanned_at.isoformat()}
    synced = post(lead, "/handovers/sync", {"handovers": [item]})
    assert synced.status_code == 200 and synced.json()["results"][0]["status"] == "stored"
    again = post(lead, "/handovers/sync", {"handovers": [item]}).json()["results"][0]
    assert again["status"] == "stored" and again["duplicate"] is True
    assert Package.objects.get(pk=d.packages["102"].pk).handed_over_at == scanned_at
    assert post(lead, "/handovers/sync", {"handovers": [{"uuid": "nope", "code": "x"}]}).status_code == 422

    # Undelivered, listed, then returned.
    pid = d.packages["201"].pk
    assert post(lead, f"/packages/{pid}/undelivered", {"reason": ""}).status_code == 422
    assert post(lead, f"/packages/{pid}/undelivered", {"reason": "家中无人"}).status_code == 200
    problems = worker.get(f"{API}/windows/{d.window.pk}/problems").json()
    assert [p["problem"] for p in problems] == ["家中无人"]
    assert post(lead, f"/packages/{pid}/resolve", {"resolution": "returned"}).status_code == 403
    assert post(worker, f"/packages/{pid}/resolve", {"resolution": "lost"}).status_code == 422
    resolved = post(worker, f"/packages/{pid}/resolve", {"resolution": "returned", "note": "退回"})
    assert resolved.json()["status"] == PackageStatus.RETURNED
    assert DeliveryRun.objects.get(pk=run_id).finished_at is not None

    # The resident confirms a package left at the door; nobody else can.
    Package.objects.filter(pk=d.packages["101"].pk).update(status=PackageStatus.LEFT_AT_DOOR)
    pid = d.packages["101"].pk
    assert post(as_(personas.outsider), f"/packages/{pid}/confirm").status_code == 404
    assert post(lead, f"/packages/{pid}/confirm").status_code == 422
    confirmed = post(as_(personas.resident), f"/packages/{pid}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == PackageStatus.CONFIRMED


def test_money_api(personas: Personas) -> None:
    d = aggregated(personas, keys=("101", "102"))
    worker = as_(personas.grid_worker)
    community = as_(personas.community_worker)
    total = str(d.orders["101"].total)
    body = {"order_id": d.orders["101"].pk, "mode": "prepaid", "amount": total}
    assert post(as_(personas.building_lead), "/payments", body).status_code == 403
    assert post(as_(personas.outsider), "/payments", body).status_code == 404
    assert post(worker, "/payments", {**body, "amount": "9999"}).status_code == 422
    assert post(worker, "/payments", body).status_code == 201
    assert [p["amount"] for p in worker.get(f"{API}/payments", {"window_id": d.window.pk}).json()] == [total]
    assert as_(personas.outsider).get(f"{API}/payments").json() == []

    post(
        worker, "/runs", {"window_id": d.window.pk, "drop_off_id": d.point.pk, "volunteer_id": personas.grid_worker.pk}
    )
    for key in ("101", "102"):
        post(worker, "/handover", {"code": d.packages[key].handover_code})
    credit = post(worker, "/credits", {"order_id": d.orders["102"].pk})
    assert credit.status_code == 201 and credit.json()["amount"] == total
    assert post(worker, "/credits", {"order_id": d.orders["102"].pk}).status_code == 422
    assert post(worker, "/credits/settle", {"ids": [credit.json()["id"]]}).status_code == 403
    assert post(as_(personas.outsider), "/credits/settle", {"ids": [credit.json()["id"]]}).status_code == 404
    assert post(community, "/credits/settle", {"ids": [credit.json()["id"]]}).json() == {"settled": 1}

    rec = worker.get(f"{API}/windows/{d.window.pk}/reconciliation").json()
    assert rec["balanced"] and rec["closed"] and rec["partial"]
    assert Decimal(rec["totals"]["delivered"]) == 2 * Decimal(total)
    assert as_(personas.outsider).get(f"{API}/windows/{d.window.pk}/reconciliation").status_code == 404

    settle = {"window_id": d.window.pk, "amount": str(2 * Decimal(total))}
    assert post(worker, "/settlements", settle).status_code == 403
    assert post(community, "/settlements", {**settle, "amount": "100000"}).status_code == 422
    assert post(community, "/settlements", settle).status_code == 201
    assert len(as_(personas.supplier).get(f"{API}/settlements").json()) == 1
    assert as_(personas.outsider).get(f"{API}/settlements").json() == []

    xlsx = community.get(f"{API}/windows/{d.window.pk}/reconciliation.xlsx")
    assert xlsx.status_code == 200
    summary = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_name("汇总").to_python()
    assert summary[1][0] == d.window.pk and summary[1][-1] == "是"
    assert as_(personas.building_lead).get(f"{API}/windows/{d.window.pk}/reconciliation.xlsx").status_code == 403


def test_door_photo_is_attached_after_a_contactless_handover(personas: Personas) -> None:
    d = aggregated(personas, keys=("101",))
    Package.objects.filter(pk=d.packages["101"].pk).update(contactless=True)
    lead = as_(personas.building_lead)
    post(
        as_(personas.grid_worker),
        "/runs",
        {"window_id": d.window.pk, "drop_off_id": d.point.pk, "volunteer_id": personas.building_lead.pk},
    )
    code = d.packages["101"].handover_code
    left = post(lead, "/handover", {"code": code})
    assert left.json()["package"]["status"] == PackageStatus.LEFT_AT_DOOR
    assert not Package.objects.get(pk=d.packages["101"].pk).photo
    not_image = SimpleUploadedFile("x.txt", b"hello", content_type="text/plain")
    refused = lead.post(f"{API}/handover/photo", {"code": code, "photo": not_image})
    assert refused.status_code == 422
    photo = SimpleUploadedFile("door.jpg", b"\xff\xd8\xff\xe0jpeg", content_type="image/jpeg")
    answer = lead.post(f"{API}/handover/photo", {"code": code, "photo": photo})
    assert answer.status_code == 200 and answer.json()["status"] == "already"
    assert Package.objects.get(pk=d.packages["101"].pk).photo.name.endswith(".jpg")
    other = SimpleUploadedFile("door.jpg", b"\xff\xd8\xff\xe0jpeg", content_type="image/jpeg")
    assert as_(personas.outsider).post(f"{API}/handover/photo", {"code": code, "photo": other}).status_code == 422


def test_undelivered_sent_again_with_its_uuid_is_recorded_once(personas: Personas) -> None:
    # given: the building lead's run; the phone marks 102 undelivered, and its answer is lost on the way
    from linli.audit.models import AuditEvent
    from linli.supplies.models import IdempotencyKey
    from linli.supplies.services.delivery import run_create

    d = aggregated(personas, keys=("101", "102"))
    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    lead = as_(personas.building_lead)
    pid = d.packages["102"].pk
    body = {"reason": "家中无人", "uuid": str(uuid.uuid4())}
    first = post(lead, f"/packages/{pid}/undelivered", body)
    assert first.status_code == 200 and first.json()["status"] == PackageStatus.UNDELIVERED

    # when: the phone sends the same record again
    again = post(lead, f"/packages/{pid}/undelivered", body)

    # then: it is answered as recorded, and recorded once
    assert again.status_code == 200, again.content
    assert again.json()["status"] == PackageStatus.UNDELIVERED and again.json()["problem"] == "家中无人"
    assert AuditEvent.objects.filter(model__icontains="package", object_pk=str(pid)).count() == 1
    assert IdempotencyKey.objects.filter(key=f"undelivered:{body['uuid']}").count() == 1

    # and once the community has dealt with it, a late resend still changes nothing and is not refused
    post(as_(personas.grid_worker), f"/packages/{pid}/resolve", {"resolution": "returned"})
    late = post(lead, f"/packages/{pid}/undelivered", body)
    assert late.status_code == 200 and late.json()["status"] == PackageStatus.RETURNED

    # but a new record (another uuid) of a package no longer on its way is refused, as without a uuid
    other = post(lead, f"/packages/{pid}/undelivered", {**body, "uuid": str(uuid.uuid4())})
    assert other.status_code == 422 and "只有待配送或配送中的包裹" in other.json()["detail"]
    assert other.json()["code"] == "not_on_the_way"
    assert post(lead, f"/packages/{pid}/undelivered", {"reason": "家中无人"}).status_code == 422


def test_a_sync_answer_given_again_is_in_the_language_of_the_one_asking_again(personas: Personas) -> None:
    # given: the building lead's offline queue synced in Chinese: one bag stored, one unknown code refused
    from linli.supplies.services.delivery import run_create

    d = aggregated(personas, keys=("101", "102"))
    run_create(window=d.window, drop_off=d.point, volunteer=personas.building_lead, actor=personas.grid_worker)
    lead = as_(personas.building_lead)
    at = timezone.now().isoformat()
    items = [
        {"uuid": str(uuid.uuid4()), "code": d.packages["101"].handover_code, "device_time": at},
        {"uuid": str(uuid.uuid4()), "code": "NOSUCHCODE", "device_time": at},
    ]
    first = post(lead, "/handovers/sync", {"handovers": items}).json()["results"]
    assert [r["detail"] for r in first] == ["交付成功：1号楼1单元101", "未找到该交接码的包裹，或不属于您负责的范围"]

    # when: the answer was lost, and the volunteer, now reading the page in English, syncs again
    again = lead.post(
        f"{API}/handovers/sync", {"handovers": items}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    ).json()["results"]

    # then: the same answers, given in English
    assert [(r["status"], r["duplicate"]) for r in again] == [("stored", True), ("refused", True)]
    assert [r["detail"] for r in again] == [
        "Handed over: 1号楼1单元101",
        "No package found with this handover code, or it is outside your area of responsibility",
    ]
    # and each answer names its reason by code too, for a page to say it in its own language
    assert [r["code"] for r in first] == [r["code"] for r in again] == ["handed_over", "not_found"]
