from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.audit.models import AuditAction
from linli.audit.selectors import audit_events_visible


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The audit log of the user's part of the tree, newest first, filterable by action."""
    if not getattr(request.user, "is_back_office", False):
        raise PermissionDenied
    events = audit_events_visible(request.user)
    action = request.GET.get("action", "")
    if action in AuditAction.values:
        events = events.filter(action=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/index.html", {"page": page, "action": action, "actions": AuditAction.choices})
