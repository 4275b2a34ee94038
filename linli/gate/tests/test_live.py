"""The community's live board (A3): who is out, who is overdue, open alerts and quota violations."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.audit.models import AuditEvent
from linli.gate import board, services
from linli.gate.choices import AlertKind
from linli.gate.models import GateAlert, QuotaViolation
from linli.gate.tests.conftest import Gate
from linli.lib.idnumbers import mask_phone

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def busy(gate: Gate) -> Gate:
    return make_busy(gate)


def make_busy(gate: Gate) -> Gate:
    """Two offline outings in one window (a violation), still out past the limit, and a fever at the gate."""
    now = timezone.now()
    guard = gate.personas.gate_guard
    # Out 5 hours ago (past the 3-hour limit), and an hour before that, but on the same local day, so in
    # the same quota window whatever the hour the test runs (between 05:00 and 06:00 local, six hours
    # back was yesterday: no violation).
    last = now - datetime.timedelta(hours=5)
    zone = services.quota.local_zone()
    midnight = datetime.datetime.combine(services.quota.local(last).date(), datetime.time(), zone)
    items = [
        services.ScanInput(
            uuid=uuid.uuid4(),
            credential=gate.household_pass.token,
            direction="out",
            device_time=moment,
            verdict="allowed",
        )
        for moment in (max(last - datetime.timedelta(hours=1), midnight), last)
    ]
    services.sync_scans(gate.checkpoint, guard, items)
    services.scan_record(
        gate.checkpoint,
        guard,
        services.ScanInput(
            uuid=uuid.uuid4(),
            credential=gate.household_pass.token,
            direction="in",
            device_time=now - datetime.timedelta(minutes=4),
            temperature=Decimal("38.6"),
            person_id=gate.members[0].pk,
        ),
    )
    return gate


def test_live_board_lists_who_is_out_and_overdue_with_masked_names(busy: Gate) -> None:
    # given
    member = busy.members[0]
    phone = busy.household.members.exclude(phone="").order_by("pk").values_list("phone", flat=True).first()
    assert phone

    # when
    live = board.live_compound(busy.checkpoint.compound)
    page = logged_in(busy.personas.community_worker).get(
        reverse("gate:live", kwargs={"pk": busy.checkpoint.compound_id})
    )

    # then
    assert (live.out_count, live.overdue_count) == (1, 1)
    row = live.out[0]
    assert row.household_id == busy.household.pk and row.overdue and row.overdue_minutes >= 119
    assert row.members == [services.mask_name(member.name)]
    text = page.content.decode()
    assert page.status_code == 200
    assert busy.household.address in text
    assert services.mask_name(member.name) in text
    assert member.name not in text
    assert mask_phone(phone) in text and phone not in text
    assert 'id="overdue-count">1<' in text
    assert 'hx-trigger="every 15s"' in text


def test_open_alerts_and_violations_are_listed_and_acknowledged(busy: Gate) -> None:
    # given
    client = logged_in(busy.personas.community_worker)
    alert = GateAlert.objects.filter(kind=AlertKind.FEVER).get()
    violation = QuotaViolation.objects.get()
    live = board.live_compound(busy.checkpoint.compound)
    assert [a.pk for a in live.alerts] == [alert.pk] and [v.pk for v in live.violations] == [violation.pk]

    # when: the alert from the HTMX panel, the violation by a plain form post
    panel = client.post(reverse("gate:alert_ack", kwargs={"pk": alert.pk}), HTTP_HX_REQUEST="true")
    plain = client.post(reverse("gate:violation_ack", kwargs={"pk": violation.pk}))

    # then
    assert panel.status_code == 200 and 'id="live-panel"' in panel.content.decode()
    assert "没有未处理的预警" in panel.content.decode()
    assert plain.status_code == 302
    alert.refresh_from_db()
    violation.refresh_from_db()
    assert alert.acknowledged_by == busy.personas.community_worker and alert.acknowledged_at is not None
    assert violation.acknowledged_by == busy.personas.community_worker
    assert AuditEvent.objects.filter(model__in=["gate.GateAlert", "gate.QuotaViolation"]).count() == 2
    remaining = board.live_compound(busy.checkpoint.compound)
    assert not remaining.alerts and not remaining.violations


def test_fever_alert_shows_a_masked_name(busy: Gate) -> None:
    alert = GateAlert.objects.filter(kind=AlertKind.FEVER).get()
    name = busy.members[0].name

    text = logged_in(busy.personas.community_worker).get(
        reverse("gate:live_panel", kwargs={"pk": busy.checkpoint.compound_id})
    )

    assert alert.person_name == name
    assert services.mask_name(name) in text.content.decode()
    assert name not in text.content.decode()


def test_live_board_of_another_community_is_not_found(busy: Gate) -> None:
    outsider = logged_in(busy.personas.outsider)
    alert = GateAlert.objects.first()
    violation = QuotaViolation.objects.get()
    compound = busy.checkpoint.compound_id
    assert alert is not None

    assert outsider.get(reverse("gate:live", kwargs={"pk": compound})).status_code == 404
    assert outsider.get(reverse("gate:live_panel", kwargs={"pk": compound})).status_code == 404
    assert outsider.post(reverse("gate:alert_ack", kwargs={"pk": alert.pk})).status_code == 404
    assert outsider.post(reverse("gate:violation_ack", kwargs={"pk": violation.pk})).status_code == 404
    assert busy.household.address not in outsider.get(reverse("gate:live_index")).content.decode()
    resident = logged_in(busy.personas.resident)
    assert resident.get(reverse("gate:live", kwargs={"pk": compound})).status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_guard_sees_the_board_but_does_not_acknowledge(busy: Gate) -> None:
    guard = logged_in(busy.personas.gate_guard)
    violation = QuotaViolation.objects.get()

    assert guard.get(reverse("gate:live", kwargs={"pk": busy.checkpoint.compound_id})).status_code == 200
    assert guard.post(reverse("gate:violation_ack", kwargs={"pk": violation.pk})).status_code == 403
    violation.refresh_from_db()
    assert violation.acknowledged_at is None


def test_street_overview_counts_every_compound(busy: Gate) -> None:
    rows = {row.compound.name: row for row in board.live_overview(busy.personas.street_command)}
    page = logged_in(busy.personas.street_command).get(reverse("gate:live_index")).content.decode()

    assert set(rows) == {"阳光小区", "和谐家园", "团结新村"}
    sunny = rows["阳光小区"]
    assert (sunny.out, sunny.overdue, sunny.violations, sunny.risk_level) == (1, 1, 1, "medium")
    assert sunny.alerts >= 1
    assert rows["团结新村"].out == 0
    assert "阳光小区" in page and "团结新村" in page


def test_api_live_and_acknowledgement(busy: Gate) -> None:
    worker = logged_in(busy.personas.community_worker)
    compound = busy.checkpoint.compound_id
    violation = QuotaViolation.objects.get()

    data = worker.get(f"/api/v1/gate/compounds/{compound}/live").json()
    overview = worker.get("/api/v1/gate/live").json()
    ack = worker.post(f"/api/v1/gate/violations/{violation.pk}/ack")
    again = worker.post(f"/api/v1/gate/violations/{violation.pk}/ack")
    outsider = logged_in(busy.personas.outsider)

    assert (data["out_count"], data["overdue_count"]) == (1, 1)
    assert data["out"][0]["overdue"] is True and "*" in data["out"][0]["phone_masked"]
    assert data["violations"][0]["counted"] == 2
    assert {row["compound"] for row in overview} == {"阳光小区", "和谐家园"}
    assert ack.json()["detail"] == "已标记为已处理" and again.json()["detail"] == "此前已处理"
    assert outsider.get(f"/api/v1/gate/compounds/{compound}/live").status_code == 404
    alert = GateAlert.objects.first()
    assert alert is not None
    assert outsider.post(f"/api/v1/gate/alerts/{alert.pk}/ack", content_type="application/json").status_code == 404
    assert logged_in(busy.personas.gate_guard).post(f"/api/v1/gate/alerts/{alert.pk}/ack").status_code == 403
    assert json.loads(outsider.get("/api/v1/gate/live").content) == [
        {
            "compound_id": busy.personas.tree.p3.pk,
            "compound": "团结新村",
            "risk_level": "low",
            "out": 0,
            "overdue": 0,
            "alerts": 0,
            "violations": 0,
        }
    ]
