"""Survey pages: the visit form a grid worker fills in at the door, and progress down the tree."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.lib import scope
from linli.lib.views import as_id
from linli.registry.models import Household
from linli.survey import selectors, services
from linli.survey.forms import SurveyVisitForm

LEVEL_LABELS = {
    "": gettext_lazy("全部"),
    "street": gettext_lazy("街道"),
    "community": gettext_lazy("社区"),
    "grid": gettext_lazy("网格"),
    "compound": gettext_lazy("小区"),
    "building": gettext_lazy("楼栋"),
}


def _require_staff(user: Any) -> None:
    """Survey pages are for staff with a place in the tree; residents and suppliers are refused."""
    if scope.is_unrestricted(user):
        return
    if user.is_resident or scope.user_level(user) is None:
        raise PermissionDenied(_("无权访问摸排页面"))


@login_required
def visit_create(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    if not services.can_record_visits(user):
        raise PermissionDenied(_("您的角色不能登记入户摸排"))
    household = scope.get_editable_or_404(Household.objects.select_related("compound", "building", "unit"), user, pk=pk)
    form = SurveyVisitForm(request.POST or None, household=household)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.survey_visit_record(
                household=household, visitor=user, request=request, **form.cleaned_data
            )
        except ValidationError as exc:
            for field_name, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field_name if field_name in form.fields else None, error)
        else:
            if visit.fever:
                messages.warning(request, services.FEVER_WARNING)
                for escalation in selectors.visit_escalations(user, visit):
                    opened = _("已为%(name)s启动发热处置流程") % {"name": escalation.person.name}
                    link = reverse("health:escalation", args=[escalation.pk])
                    messages.warning(request, format_html('{} <a href="{}">{}</a>', opened, link, _("查看处置")))
            if visit.covers_household:
                messages.success(request, _("已保存走访记录，本户摸排完成"))
            else:
                messages.success(request, _("已保存走访记录；本户尚未完成摸排（需家中有人且成员信息已核实）"))
            return redirect("registry:household", pk=household.pk)
    return render(request, "survey/visit_form.html", {"form": form, "household": household})


@login_required
def progress(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_staff(user)
    level = request.GET.get("level", "")
    node_id = as_id(request.GET.get("id", ""))
    if level and node_id is None:
        raise Http404
    data = selectors.survey_progress(user, level, node_id if level else None)
    crumbs = [(LEVEL_LABELS[name], node.name, f"?level={name}&id={node.pk}") for name, node in data.path]
    if scope.is_unrestricted(user):
        crumbs.insert(0, (LEVEL_LABELS[""], "", "?"))
    context = {
        "progress": data,
        "crumbs": crumbs,
        "level_label": LEVEL_LABELS[data.level],
        "child_label": LEVEL_LABELS.get(data.child_level or "", ""),
        "can_visit": services.can_record_visits(user),
    }
    return render(request, "survey/progress.html", context)
