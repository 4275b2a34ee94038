"""Small pieces every app's API uses: the 400 body for a service's validation errors, the staff check."""

import json
from typing import Any, TypeVar

from django.http import HttpRequest
from ninja import Schema, Status
from ninja.errors import HttpError
from pydantic import BaseModel, ValidationError

from linli.lib import scope
from linli.lib.apierrors import unstorable
from linli.lib.wording import sentences

Body = TypeVar("Body", bound=BaseModel)


def plain_body(request: HttpRequest, model: type[Body]) -> Body | None:
    """The request's JSON object body as ``model``, for a hot path that answers before ninja runs;
    None when it does not parse as ninja's parser reads it or does not validate (ninja then answers,
    422 with its own error list)."""
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):  # bad JSON or UTF-8 (ValueErrors), too deep
        return None
    if not isinstance(body, dict) or unstorable(body):  # a number or NUL no column takes: ninja's 422
        return None
    try:
        return model.model_validate(body)
    except ValidationError:
        return None


class ErrorOut(Schema):
    """Every refusal's body: a Chinese ``detail``, a machine ``code`` where one helps, per-field errors."""

    detail: str
    code: str = ""
    errors: dict[str, list[str]] = {}


def bad_request(errors: dict[str, list[str]]) -> Status[dict[str, Any]]:
    """400 with every message joined in ``detail`` and, per field, in ``errors``."""
    detail = sentences(message for messages in errors.values() for message in messages)
    return Status(400, {"detail": detail, "errors": errors})


def tree_staff(request: HttpRequest, refusal: str) -> Any:
    """The caller, when it is staff with a place in the tree (or a superuser); else 403 with ``refusal``."""
    user: Any = request.user
    if not scope.is_unrestricted(user) and (user.is_resident or scope.user_level(user) is None):
        raise HttpError(403, refusal)
    return user
