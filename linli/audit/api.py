from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from linli.audit.selectors import audit_events_visible

router = Router(tags=["audit"])


class AuditEventOut(Schema):
    id: int
    at: datetime
    actor_name: str
    action: str
    model: str
    object_pk: str
    object_repr: str
    changes: dict[str, Any]


@router.get("/events", response=list[AuditEventOut], summary="审计记录（本人负责范围）")
@paginate(LimitOffsetPagination)
def events(request: HttpRequest, action: str = "") -> Any:
    if not getattr(request.user, "is_back_office", False):
        raise HttpError(403, _("只有街道和社区管理人员可以查看审计记录"))
    qs = audit_events_visible(request.user)
    if action:
        qs = qs.filter(action=action)
    return qs
