"""Writes of the door-to-door survey 入户摸排 (SPEC R2). Each function is one transaction and is audited."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.accounts.choices import REGISTRY_EDIT_ROLES, Role
from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.health import services as health
from linli.health.models import FeverEscalation
from linli.registry.models import Household, Person
from linli.survey.models import SurveyVisit

# Who records visits: the registry editors, and building leads too — in practice they are the
# ones knocking on the doors of their own building (scope keeps them to it).
SURVEY_ROLES = frozenset({*REGISTRY_EDIT_ROLES, Role.BUILDING_LEAD})

# A phone's clock may run a little ahead of the server's; later than this is a typing mistake.
FUTURE_TOLERANCE = datetime.timedelta(minutes=10)

FEVER_WARNING = gettext_lazy("发现发热等症状：请立即上报社区")
# What the health module's escalation records as how the fever was found.
FEVER_SOURCE = gettext_lazy("入户摸排")
# A reading outside this range is a typing mistake (the health module's own bounds for a report).
TEMPERATURE_RANGE = (Decimal("34.0"), Decimal("43.0"))


def can_record_visits(user: Any) -> bool:
    """The account's role may record survey visits (its scope is checked separately, per household)."""
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or user.role in SURVEY_ROLES))


def survey_visit_record(
    *,
    household: Household,
    visitor: Any,
    visited_at: datetime.datetime | None = None,
    anyone_home: bool = True,
    people_home: Iterable[Person] = (),
    members_confirmed: bool = False,
    fever: bool = False,
    fever_people: Iterable[Person] = (),
    temperature: Decimal | None = None,
    travel_14d: bool = False,
    visitors_present: bool = False,
    note: str = "",
    request: HttpRequest | None = None,
) -> SurveyVisit:
    """Record one visit; the household counts as surveyed from the first visit that covers it.

    The caller has checked that ``visitor`` may edit ``household`` (``scope.editable``). A visit with
    fever names who had it (``fever_people``); each of them gets a fever escalation in the same
    transaction (``selectors.visit_escalations`` finds them).
    """
    now = timezone.now()
    visited_at = visited_at or now
    people = list(people_home)
    feverish = list({person.pk: person for person in fever_people}.values())
    errors: dict[str, list[str]] = {}
    if visited_at > now + FUTURE_TOLERANCE:
        errors.setdefault("visited_at", []).append(_("走访时间不能晚于当前时间"))
    if any(person.household_id != household.pk for person in people):
        errors.setdefault("people_home", []).append(_("只能勾选本户的成员"))
    if not anyone_home and people:
        errors.setdefault("people_home", []).append(_("家中无人时不能勾选在家人员"))
    if not anyone_home and members_confirmed:
        errors.setdefault("members_confirmed", []).append(_("家中无人时无法核实成员信息，请下次走访时核实"))
    if fever and not feverish:
        errors.setdefault("fever_people", []).append(_("请勾选有发热等症状的成员"))
    if not fever and feverish:
        errors.setdefault("fever_people", []).append(_("未勾选“有发热等症状”时不能选择发热人员"))
    if any(person.household_id != household.pk for person in feverish):
        errors.setdefault("fever_people", []).append(_("只能勾选本户的成员"))
    if not fever:
        # The reading is the fever's (it goes to the escalation); without fever it is not kept.
        temperature = None
    elif temperature is not None and not TEMPERATURE_RANGE[0] <= temperature <= TEMPERATURE_RANGE[1]:
        errors.setdefault("temperature", []).append(_("体温须在 34.0 到 43.0 ℃ 之间，请核对"))
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        visit = SurveyVisit.objects.create(
            household=household,
            visited_at=visited_at,
            visitor=visitor if getattr(visitor, "is_authenticated", False) else None,
            anyone_home=anyone_home,
            members_confirmed=members_confirmed,
            fever=fever,
            temperature=temperature,
            travel_14d=travel_14d,
            visitors_present=visitors_present,
            note=note.strip(),
        )
        visit.people_home.set(people)
        visit.fever_people.set(feverish)
        audit_record(
            actor=visitor,
            action=AuditAction.CREATE,
            obj=visit,
            changes={
                "household": household.pk,
                "anyone_home": anyone_home,
                "people_home": [person.pk for person in people],
                "members_confirmed": members_confirmed,
                "fever": fever,
                "fever_people": [person.pk for person in feverish],
                "temperature": str(temperature) if temperature is not None else "",
                "travel_14d": travel_14d,
                "visitors_present": visitors_present,
            },
            request=request,
        )
        if visit.covers_household:
            # Conditional update: two workers saving at once cannot both stamp it, and the first
            # covering visit stays the completion time.
            stamped = Household.objects.filter(pk=household.pk, surveyed_at__isnull=True).update(surveyed_at=visited_at)
            if stamped:
                household.surveyed_at = visited_at
                audit_record(
                    actor=visitor,
                    action=AuditAction.UPDATE,
                    obj=household,
                    changes={"surveyed_at": [None, visited_at.isoformat()]},
                    request=request,
                )
        if fever:
            survey_fever_escalate(visit=visit, people=feverish, actor=visitor, request=request)
    return visit


def survey_fever_escalate(
    *, visit: SurveyVisit, people: Iterable[Person], actor: Any, request: HttpRequest | None = None
) -> list[FeverEscalation]:
    """A visit found fever: open the health module's fever escalation for each person named (SPEC H3).

    Runs inside the visit's transaction, so a failed escalation leaves no visit behind. A person with an
    escalation already open keeps it (the health module reuses it); the visit's reading is passed on.
    """
    # Sorted by pk: the health module locks each person's row, so two visits never deadlock.
    return [
        health.escalation_open(
            person, temperature=visit.temperature, source=str(FEVER_SOURCE), actor=actor, now=visit.visited_at
        )
        for person in sorted(people, key=lambda person: person.pk)
    ]
