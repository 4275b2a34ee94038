"""Temperatures (H3) and the fever escalation they open (H3)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.health import rules
from linli.health.choices import (
    ESCALATION_ORDER,
    EscalationStatus,
    EscalationStep,
    Symptom,
)
from linli.health.models import (
    EscalationStepRecord,
    FeverEscalation,
    TemperatureReport,
)
from linli.health.services._common import _actor, _decimal, _household, _now, _placed
from linli.lib.wording import listed
from linli.registry.models import Person

# ----------------------------------------------------------------------------------------------
# Temperatures (H3)


def slot_for(street_id: int, moment: datetime.datetime) -> int:
    """The slot a report made at ``moment`` belongs to: afternoon from the afternoon slot's time."""
    settings = rules.settings_for(street_id)
    return 2 if timezone.localtime(moment).time() >= settings.afternoon_slot else 1


def parse_symptoms(values: Iterable[str]) -> list[str]:
    clean = sorted({v for v in values if v})
    unknown = [v for v in clean if v not in Symptom.values]
    if unknown:
        raise ValidationError({"symptoms": _("未知的症状：%(s)s") % {"s": listed(unknown)}})
    return clean


@dataclass
class ReportOutcome:
    report: TemperatureReport
    escalation: FeverEscalation | None
    updated: bool


def temperature_report(
    person: Person,
    *,
    temperature: Decimal | float | str,
    actor: Any,
    symptoms: Sequence[str] = (),
    date: datetime.date | None = None,
    slot: int | None = None,
    now: datetime.datetime | None = None,
) -> ReportOutcome:
    """Record a temperature for a day's slot; a reading above the threshold opens a fever escalation.

    The report is the person's own when the account is the person's household's resident account,
    otherwise a report on their behalf (代报). A second report for the same slot corrects the first
    (audited), it does not add a row.
    """
    moment = _now(now)
    household = _household(person)
    settings = rules.settings_for(household.street_id)
    value = _decimal(temperature, places=Decimal("0.1"))
    if value is None:
        raise ValidationError({"temperature": _("请填写体温，如 36.5")})
    if not Decimal("34.0") <= value <= Decimal("43.0"):
        raise ValidationError({"temperature": _("体温须在 34.0 到 43.0 ℃ 之间，请核对")})
    day = date or timezone.localdate(moment)
    if day > timezone.localdate(moment):
        raise ValidationError({"date": _("不能上报未来日期的体温")})
    the_slot = slot or slot_for(household.street_id, moment)
    if the_slot not in (1, 2):
        raise ValidationError({"slot": _("时段须为上午或下午")})
    clean = parse_symptoms(symptoms)
    fever = value > settings.fever_threshold or Symptom.FEVER in clean
    deadline = timezone.make_aware(datetime.datetime.combine(day, settings.report_deadline))
    own = getattr(actor, "household_id", None) == household.pk and getattr(actor, "role", None) == Role.RESIDENT
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).exists()
        report = TemperatureReport.objects.filter(person=person, date=day, slot=the_slot).first()
        updated = report is not None
        before = str(report.temperature) if report else None
        if report is None:
            report = TemperatureReport(person=person, date=day, slot=the_slot, **_placed(household))
        report.temperature = value
        report.symptoms = clean
        report.fever = fever
        report.reported_at = moment
        report.reported_by = _actor(actor)
        report.by_proxy = not own
        # A correction does not change whether the slot was reported in time.
        report.late = report.late if updated else moment > deadline
        report.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE if updated else AuditAction.CREATE,
            obj=report,
            changes={"temperature": [before, str(value)] if updated else str(value), "symptoms": clean},
            street_id=household.street_id,
            community_id=household.community_id,
        )
        escalation = None
        if fever:
            escalation = escalation_open(
                person, temperature=value, source=_("健康上报"), actor=actor, report=report, now=moment
            )
    return ReportOutcome(report=report, escalation=escalation, updated=updated)


# ----------------------------------------------------------------------------------------------
# Fever escalation (H3)


def escalation_open(
    person: Person,
    *,
    temperature: Decimal | None,
    source: str,
    actor: Any,
    report: TemperatureReport | None = None,
    now: datetime.datetime | None = None,
) -> FeverEscalation:
    """Open the fever escalation with its timed steps; an open one for the person is reused."""
    moment = _now(now)
    household = _household(person)
    settings = rules.settings_for(household.street_id)
    with transaction.atomic():
        # One open escalation per person: concurrent fevers of one person queue on the person's row.
        Person.objects.select_for_update().filter(pk=person.pk).exists()
        existing = FeverEscalation.objects.filter(person=person, status=EscalationStatus.OPEN).first()
        if existing is not None:
            if temperature is not None and (existing.temperature is None or temperature > existing.temperature):
                existing.temperature = temperature
                existing.save(update_fields=["temperature"])
            return existing
        escalation = FeverEscalation.objects.create(
            person=person,
            report=report,
            temperature=temperature,
            source=source[:20],
            opened_at=moment,
            opened_by=_actor(actor),
            **_placed(household),
        )
        EscalationStepRecord.objects.bulk_create(
            [
                EscalationStepRecord(
                    escalation=escalation,
                    step=step,
                    position=position,
                    due_at=moment + datetime.timedelta(minutes=settings.step_due_minutes(step)),
                )
                for position, step in enumerate(ESCALATION_ORDER, start=1)
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=escalation,
            changes={"temperature": str(temperature) if temperature is not None else "", "source": source},
            street_id=household.street_id,
            community_id=household.community_id,
        )
    return escalation


# A step that must wait for another (the ambulance goes once the centre knows, and so on).
STEP_NEEDS = {
    EscalationStep.STREET_INFORMED: EscalationStep.COMMUNITY_NOTIFIED,
    EscalationStep.CENTRE_INFORMED: EscalationStep.COMMUNITY_NOTIFIED,
    EscalationStep.AMBULANCE_SENT: EscalationStep.CENTRE_INFORMED,
    EscalationStep.AT_FEVER_CLINIC: EscalationStep.AMBULANCE_SENT,
    EscalationStep.CDC_INFORMED: EscalationStep.CENTRE_INFORMED,
}


def escalation_step_done(
    escalation: FeverEscalation, *, step: str, actor: Any, note: str = "", now: datetime.datetime | None = None
) -> EscalationStepRecord:
    """Record a step as done, with the time and the person; the last step closes the escalation."""
    moment = _now(now)
    if step not in EscalationStep.values:
        raise ValidationError({"step": _("未知的处置环节")})
    with transaction.atomic():
        escalation = FeverEscalation.objects.select_for_update().get(pk=escalation.pk)
        records = {r.step: r for r in escalation.steps.select_for_update()}
        record = records[step]
        if record.done_at is not None:
            raise ValidationError(
                _("该环节已于 %(t)s 完成") % {"t": timezone.localtime(record.done_at).strftime("%m-%d %H:%M")}
            )
        needed = STEP_NEEDS.get(EscalationStep(step))
        if needed is not None and records[needed].done_at is None:
            raise ValidationError(_("请先完成“%(needed)s”") % {"needed": EscalationStep(needed).label})
        record.done_at = moment
        record.done_by = _actor(actor)
        record.note = (note or "").strip()[:200]
        record.save(update_fields=["done_at", "done_by", "note"])
        if all(r.done_at is not None for r in records.values()):
            escalation.status = EscalationStatus.CLOSED
            escalation.closed_at = moment
            escalation.save(update_fields=["status", "closed_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=escalation,
            changes={"step": step, "note": record.note},
            street_id=escalation.street_id,
            community_id=escalation.community_id,
        )
    return record


def steps_overdue(escalation: FeverEscalation, *, now: datetime.datetime | None = None) -> list[EscalationStepRecord]:
    moment = _now(now)
    return [s for s in escalation.steps.all() if s.done_at is None and s.due_at < moment]
