from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    display_name: str
    role: str
    role_label: str
    scope_level: str | None
    scope_path: list[str]


@router.get("/me", response=MeOut, summary="当前账号及其负责范围")
def me(request: HttpRequest) -> Any:
    user: Any = request.user
    return {
        "username": user.username,
        "display_name": str(user),
        "role": user.role,
        "role_label": str(user.get_role_display()),
        "scope_level": user.scope_level,
        "scope_path": [str(node) for node in user.scope_path],
    }
