"""Release from an order (H4): days complete, no symptoms, a negative test, and two signatures — the
responsible cadre and the responsible medical worker. Extensions, and the household's gate hold."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError

from linli.accounts.choices import Role
from linli.gate import services as gate_services
from linli.gate.models import HouseholdHold
from linli.health import rules, services
from linli.health.choices import Category, OrderStatus
from linli.health.models import Monitoring, QuarantineOrder, ReleaseSignature, TestTask
from linli.health.tests.conftest import Gate, Health, at, day
from linli.lib.testing import make_user
from linli.registry.models import Person

pytestmark = pytest.mark.django_db

# A medium-risk returnee arrived on 1 November: 14 days at home, tests due 1 and 14 November,
# complete on 15 November.
END = at(15, 10)


def start(health: Health, person: Person | None = None) -> QuarantineOrder:
    order = services.key_person_register(
        person or health.person,
        category=Category.MEDIUM_RISK_RETURNEE,
        actor=health.personas.community_worker,
        arrived_on=day(1),
        now=at(1, 12),
    ).order
    assert order is not None and order.planned_end == day(15)
    return order


def negatives(health: Health, order: QuarantineOrder) -> None:
    for task in TestTask.objects.filter(order=order).order_by("due_on"):
        moment = datetime.datetime.combine(task.due_on, datetime.time(11), tzinfo=END.tzinfo)
        services.test_result_record(task, result="negative", actor=health.personas.medic, now=moment)


def well(health: Health, order: QuarantineOrder, moment: datetime.datetime | None = None) -> None:
    """A clear report (09:00 on the release day unless told)."""
    services.temperature_report(
        order.person, temperature="36.5", actor=health.personas.grid_worker, now=moment or at(15, 9)
    )


def blockers(order: QuarantineOrder, moment: datetime.datetime = END) -> list[str]:
    order.refresh_from_db()
    return services.release_blockers(order, now=moment)


def refused(health: Health, order: QuarantineOrder, moment: datetime.datetime = END) -> list[str]:
    """The messages of a refused signature (the cadre signs)."""
    with pytest.raises(ValidationError) as refusal:
        services.release_sign(order, actor=health.personas.community_worker, now=moment)
    assert not ReleaseSignature.objects.filter(order=order).exists()
    return refusal.value.messages


def test_a_ready_order_has_no_blockers(health: Health) -> None:
    order = start(health)
    negatives(health, order)
    well(health, order)
    assert blockers(order) == []


def test_release_is_refused_before_the_days_are_complete(health: Health) -> None:
    order = start(health)
    negatives(health, order)
    well(health, order, at(14, 9))
    messages = refused(health, order, at(14, 23, 59))
    assert len(messages) == 1 and "隔离期未满" in messages[0] and "2026-11-15" in messages[0]
    assert blockers(order, at(15, 0, 0)) == []


def test_release_is_refused_without_any_test_result(health: Health) -> None:
    rule = rules.rule_for(health.personas.tree.street, Category.MEDIUM_RISK_RETURNEE)
    rules.rule_update(rule, actor=health.personas.street_command, test_days=[])
    order = start(health)
    assert not TestTask.objects.filter(order=order).exists()
    well(health, order)
    messages = refused(health, order)
    assert len(messages) == 1 and "没有核酸检测结果" in messages[0]
    extra = services.test_add(order, due_on=day(14), actor=health.personas.medic)
    services.test_result_record(extra, result="negative", actor=health.personas.medic, now=at(14, 12))
    assert blockers(order) == []


def test_release_is_refused_when_the_latest_test_is_positive(health: Health) -> None:
    order = start(health)
    first, last = TestTask.objects.filter(order=order).order_by("due_on")
    services.test_result_record(first, result="negative", actor=health.personas.medic, now=at(1, 18))
    services.test_result_record(last, result="positive", actor=health.personas.medic, now=at(14, 18))
    well(health, order)
    messages = refused(health, order)
    assert len(messages) == 1 and "阳性" in messages[0]
    # A later negative test (a re-test) is what counts.
    again = services.test_add(order, due_on=day(15), actor=health.personas.medic)
    services.test_result_record(again, result="negative", actor=health.personas.medic, now=at(15, 8))
    assert blockers(order) == []


def test_release_is_refused_while_a_due_test_has_no_result(health: Health) -> None:
    order = start(health)
    first = TestTask.objects.filter(order=order).order_by("due_on").first()
    assert first is not None
    services.test_result_record(first, result="negative", actor=health.personas.medic, now=at(1, 18))
    well(health, order)
    messages = refused(health, order)
    assert messages == ["还有 1 次到期的核酸检测没有结果"]


def test_release_is_refused_with_symptoms_in_the_last_report(health: Health) -> None:
    order = start(health)
    negatives(health, order)
    services.temperature_report(
        health.person, temperature="36.6", symptoms=["cough"], actor=health.personas.grid_worker, now=at(15, 9)
    )
    messages = refused(health, order)
    assert messages == ["最近一次健康上报有发热或症状"]
    # Only the last report counts: a clear report later lifts it.
    well(health, order, at(15, 15, 5))
    assert blockers(order, at(15, 16)) == []


def test_release_is_refused_while_a_fever_escalation_is_open(health: Health) -> None:
    order = start(health)
    negatives(health, order)
    services.temperature_report(health.person, temperature="38.1", actor=health.personas.grid_worker, now=at(10, 9))
    well(health, order)
    messages = refused(health, order)
    assert messages == ["有未完成的发热处置"]


def test_every_missing_condition_is_listed_at_once(health: Health) -> None:
    order = start(health)
    services.temperature_report(health.person, temperature="38.1", actor=health.personas.grid_worker, now=at(10, 9))
    messages = refused(health, order, at(10, 10))
    assert len(messages) == 5  # days, no result, due tests, the fever report, the open escalation


@pytest.mark.parametrize("role", ["grid_worker", "building_lead", "gate_guard", "resident", "supplier"])
def test_a_role_that_cannot_sign_is_refused(health: Health, role: str) -> None:
    order = start(health)
    negatives(health, order)
    well(health, order)
    with pytest.raises(ValidationError, match="只有社区干部"):
        services.release_sign(order, actor=getattr(health.personas, role), now=END)
    assert not ReleaseSignature.objects.exists()


def test_the_same_person_cannot_sign_twice(health: Health) -> None:
    order = start(health)
    negatives(health, order)
    well(health, order)
    first = services.release_sign(order, actor=health.personas.medic, now=END)
    assert not first.released and first.signature.role == services.SIGN_MEDIC
    with pytest.raises(ValidationError, match="您已签字"):
        services.release_sign(order, actor=health.personas.medic, now=END)
    order.refresh_from_db()
    assert order.status == OrderStatus.ACTIVE


def test_two_cadres_cannot_release(health: Health) -> None:
    order = start(health)
    negatives(health, order)
    well(health, order)
    second_cadre = make_user("community2", Role.COMMUNITY_WORKER, health.personas.tree.c1, is_staff=True)
    services.release_sign(order, actor=health.personas.community_worker, now=END)
    with pytest.raises(ValidationError, match="已有责任干部签字"):
        services.release_sign(order, actor=second_cadre, now=END)
    with pytest.raises(ValidationError, match="已有责任干部签字"):
        services.release_sign(order, actor=health.personas.street_command, now=END)
    order.refresh_from_db()
    assert order.status == OrderStatus.ACTIVE
    assert ReleaseSignature.objects.filter(order=order).count() == 1


def test_two_medics_cannot_release(health: Health) -> None:
    order = start(health)
    negatives(health, order)
    well(health, order)
    services.release_sign(order, actor=health.personas.medic, now=END)
    with pytest.raises(ValidationError, match="已有医务人员签字"):
        services.release_sign(order, actor=make_user("medic2", Role.MEDIC, health.personas.tree.c1), now=END)


@pytest.mark.parametrize("medic_first", [False, True])
def test_the_cadre_and_the_medic_release_the_order(health: Health, medic_first: bool) -> None:
    order = start(health)
    negatives(health, order)
    well(health, order)
    signers = [health.personas.community_worker, health.personas.medic]
    if medic_first:
        signers.reverse()
    first = services.release_sign(order, actor=signers[0], now=END)
    second = services.release_sign(order, actor=signers[1], now=END)
    assert (first.released, second.released) == (False, True)
    order.refresh_from_db()
    assert (order.status, order.ended_at, order.ended_by) == (OrderStatus.RELEASED, END, signers[1])
    assert sorted(ReleaseSignature.objects.filter(order=order).values_list("role", flat=True)) == ["cadre", "medic"]
    assert order.key_person is not None and not order.key_person.active
    # Nothing is owed from the release day on.
    assert Monitoring.objects.get(order=order).ends_on == day(14)
    with pytest.raises(ValidationError, match="该隔离已结束"):
        services.release_sign(order, actor=health.personas.street_command, now=END)


def test_a_new_test_result_voids_earlier_signatures(health: Health) -> None:
    order = start(health)
    negatives(health, order)
    well(health, order)
    services.release_sign(order, actor=health.personas.community_worker, now=END)
    extra = services.test_add(order, due_on=day(15), actor=health.personas.medic)
    services.test_result_record(extra, result="negative", actor=health.personas.medic, now=at(15, 11))
    assert not ReleaseSignature.objects.filter(order=order).exists()


def test_an_extension_needs_a_reason_and_clears_the_signatures(health: Health) -> None:
    order = start(health)
    negatives(health, order)
    well(health, order)
    services.release_sign(order, actor=health.personas.medic, now=END)
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as no_reason:
            services.order_extend(order, days=7, reason=reason, actor=health.personas.community_worker)
        assert "reason" in no_reason.value.message_dict
    for days in (0, 61, -1):
        with pytest.raises(ValidationError):
            services.order_extend(order, days=days, reason="同住人员阳性", actor=health.personas.community_worker)
    assert ReleaseSignature.objects.filter(order=order).count() == 1

    extension = services.order_extend(order, days=7, reason="同住人员阳性", actor=health.personas.community_worker)
    assert (extension.previous_end, extension.new_end, extension.reason) == (day(15), day(22), "同住人员阳性")
    order.refresh_from_db()
    assert (order.days, order.planned_end) == (21, day(22))
    assert not ReleaseSignature.objects.filter(order=order).exists()
    assert Monitoring.objects.get(order=order).ends_on == day(22)
    # The period's last day gets its test, so a release needs a fresh negative result.
    assert TestTask.objects.filter(order=order, due_on=day(21)).exists()
    assert any("隔离期未满" in m for m in blockers(order, at(21, 10)))
    assert blockers(order, at(22, 10)) == ["还有 1 次到期的核酸检测没有结果"]


def test_an_ended_order_cannot_be_extended_or_given_tests(health: Health) -> None:
    order = start(health)
    services.order_end(
        order, status=OrderStatus.TRANSFERRED, note="转运至定点医院", actor=health.personas.medic, now=at(5, 10)
    )
    with pytest.raises(ValidationError, match="已结束"):
        services.order_extend(order, days=7, reason="x", actor=health.personas.community_worker)
    with pytest.raises(ValidationError, match="已结束"):
        services.test_add(order, due_on=day(6), actor=health.personas.medic)


def scan(gate: Gate, moment: datetime.datetime) -> gate_services.ScanResult:
    data = gate_services.ScanInput(
        uuid=uuid.uuid4(), credential=gate.household_pass.token, direction="out", device_time=moment
    )
    return gate_services.scan_record(gate.checkpoint, gate.personas.gate_guard, data, now=moment)


def test_the_household_stays_held_until_its_last_home_order_ends(health: Health, gate: Gate) -> None:
    first = start(health)
    second = services.key_person_register(
        health.others[0],
        category=Category.MEDIUM_RISK_RETURNEE,
        actor=health.personas.community_worker,
        arrived_on=day(3),
        now=at(3, 12),
    ).order
    assert second is not None and second.planned_end == day(17)
    held = HouseholdHold.objects.filter(household=health.household, released_at__isnull=True)
    assert list(held.values_list("reason", "source")) == [("home_observation", "health")]
    assert scan(gate, at(15, 8)).scan.reason == "observation"

    negatives(health, first)
    well(health, first)
    services.release_sign(first, actor=health.personas.community_worker, now=END)
    assert services.release_sign(first, actor=health.personas.medic, now=END).released
    assert held.count() == 1
    assert scan(gate, at(15, 11)).scan.reason == "observation"

    negatives(health, second)
    well(health, second, at(17, 9))
    services.release_sign(second, actor=health.personas.community_worker, now=at(17, 10))
    assert services.release_sign(second, actor=health.personas.medic, now=at(17, 10)).released
    assert not held.exists()
    assert scan(gate, at(17, 11)).scan.verdict == "allowed"


def test_ending_a_health_order_leaves_a_hold_the_gate_set_by_hand(health: Health) -> None:
    gate_services.hold_set(
        household=health.household, reason="home_observation", actor=health.personas.community_worker
    )
    order = start(health)
    services.order_end(order, status=OrderStatus.CANCELLED, note="登记错误", actor=health.personas.community_worker)
    held = HouseholdHold.objects.filter(household=health.household, released_at__isnull=True)
    assert list(held.values_list("reason", "source")) == [("home_observation", "")]
