"""Small pieces every app's API uses: the 400 body for a service's validation errors, the staff check."""

from typing import Any

from django.http import HttpRequest
from ninja import Schema, Status
from ninja.errors import HttpError

from linli.lib import scope


class ErrorOut(Schema):
    """Every refusal's body: a Chinese ``detail``, a machine ``code`` where one helps, per-field errors."""

    detail: str
    code: str = ""
    errors: dict[str, list[str]] = {}


def bad_request(errors: dict[str, list[str]]) -> Status[dict[str, Any]]:
    """400 with every message joined in ``detail`` and, per field, in ``errors``."""
    detail = "；".join(message for messages in errors.values() for message in messages)
    return Status(400, {"detail": detail, "errors": errors})


def tree_staff(request: HttpRequest, refusal: str) -> Any:
    """The caller, when it is staff with a place in the tree (or a superuser); else 403 with ``refusal``."""
    user: Any = request.user
    if not scope.is_unrestricted(user) and (user.is_resident or scope.user_level(user) is None):
        raise HttpError(403, refusal)
    return user
