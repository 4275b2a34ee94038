"""What the monitoring pages share: role checks, the street and its clock, report messages."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.health import rules, services
from linli.health.choices import Symptom
from linli.health.models import (
    HealthSettings,
    TemperatureReport,
)
from linli.health.permissions import (
    has_role,
)
from linli.lib import scope
from linli.registry.models import Street

LIST_PAGE = 50
ESCALATION_LIMIT = 200
SEARCH_LIMIT = 20
SLOT_LABELS = {1: gettext_lazy("上午"), 2: gettext_lazy("下午")}
# The control side's pages (linli.health.views_control), linked from the health home when they exist.
CONTROL_PAGES = (
    ("health:cases", gettext_lazy("病例与密接")),
    ("health:status", gettext_lazy("社区疫情分级")),
    ("health:seals", gettext_lazy("封控")),
    ("health:emergencies", gettext_lazy("物业应急等级")),
    ("health:graph", gettext_lazy("传播关系图")),
)


def require(user: Any, roles: frozenset[str]) -> None:
    if not has_role(user, roles):
        raise PermissionDenied(_("您的角色不能使用本页面"))


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _street_of(user: Any) -> Street:
    """The street whose tables the account works with (a superuser: the first street)."""
    if getattr(user, "street_id", None):
        return Street.objects.get(pk=user.street_id)
    street = Street.objects.order_by("pk").first() if scope.is_unrestricted(user) else None
    if street is None:
        raise Http404
    return street


def _clock(user: Any) -> HealthSettings:
    """The account's street's reporting clock; SPEC's defaults when the account has no street."""
    street_id = getattr(user, "street_id", None)
    return rules.settings_for(street_id) if street_id else HealthSettings()


def current_slot(clock: HealthSettings, moment: datetime.datetime | None = None) -> int:
    """The slot a report made now belongs to (the afternoon from the afternoon slot's time)."""
    return 2 if timezone.localtime(moment).time() >= clock.afternoon_slot else 1


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return ""


def _labelled(reports: Any) -> list[TemperatureReport]:
    """Reports with their symptoms' labels (``symptom_labels``) for the page."""
    labels = dict(Symptom.choices)
    found = list(reports)
    for report in found:
        report.symptom_labels = [labels.get(code, code) for code in report.symptoms]  # type: ignore[attr-defined]
    return found


def _report_message(request: HttpRequest, outcome: services.ReportOutcome, name: str) -> None:
    report = outcome.report
    values = {"name": name, "slot": SLOT_LABELS[report.slot], "t": report.temperature}
    if outcome.updated:
        text = _("已更正 %(name)s %(slot)s的体温：%(t)s ℃。") % values
    else:
        text = _("已上报 %(name)s %(slot)s的体温：%(t)s ℃。") % values
    if report.late:
        text += _("（已过上报截止时间，记为逾期上报）")
    messages.success(request, text)
    if outcome.escalation is not None:
        messages.warning(
            request,
            _("体温偏高或有发热症状，已通知社区启动发热处置流程，请留在家中、等待社区和医务人员联系。"),
        )
