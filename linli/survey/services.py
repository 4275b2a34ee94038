"""Writes of the door-to-door survey 入户摸排 (SPEC R2). Each function is one transaction and is audited."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
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
from linli.registry.models import Household, Person
from linli.survey.models import SurveyVisit

# Who records visits: the registry editors, and building leads too — in practice they are the
# ones knocking on the doors of their own building (scope keeps them to it).
SURVEY_ROLES = frozenset({*REGISTRY_EDIT_ROLES, Role.BUILDING_LEAD})

# A phone's clock may run a little ahead of the server's; later than this is a typing mistake.
FUTURE_TOLERANCE = datetime.timedelta(minutes=10)

FEVER_WARNING = gettext_lazy("发现发热等症状：请立即上报社区")


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
    travel_14d: bool = False,
    visitors_present: bool = False,
    note: str = "",
    request: HttpRequest | None = None,
) -> SurveyVisit:
    """Record one visit; the household counts as surveyed from the first visit that covers it.

    The caller has checked that ``visitor`` may edit ``household`` (``scope.editable``).
    """
    now = timezone.now()
    visited_at = visited_at or now
    people = list(people_home)
    errors: dict[str, list[str]] = {}
    if visited_at > now + FUTURE_TOLERANCE:
        errors.setdefault("visited_at", []).append(_("走访时间不能晚于当前时间"))
    if any(person.household_id != household.pk for person in people):
        errors.setdefault("people_home", []).append(_("只能勾选本户的成员"))
    if not anyone_home and people:
        errors.setdefault("people_home", []).append(_("家中无人时不能勾选在家人员"))
    if not anyone_home and members_confirmed:
        errors.setdefault("members_confirmed", []).append(_("家中无人时无法核实成员信息，请下次走访时核实"))
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
            travel_14d=travel_14d,
            visitors_present=visitors_present,
            note=note.strip(),
        )
        visit.people_home.set(people)
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
            survey_fever_escalate(visit=visit, actor=visitor, request=request)
    return visit


def survey_fever_escalate(*, visit: SurveyVisit, actor: Any, request: HttpRequest | None = None) -> None:
    """A visit found fever or other symptoms: the seam where the health module raises its alert (SPEC H3).

    Runs inside the visit's transaction. Until the health module hooks in here (a fever alert for the
    household, the community told at once), the visit's ``fever`` flag is the record and the page shows
    the worker ``FEVER_WARNING``.
    """
