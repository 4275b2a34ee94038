"""What the health API's routers share: the role and scope checks, the 422 body, the person summary.

Same rules as the pages (``views_monitoring``): a role outside a set of ``linli.health.permissions``
is 403, a record outside the caller's part of the tree is 404 (like a missing one), and a service's
refusal (``ValidationError``) is 422 with every Chinese message in ``detail`` and, per field, in
``errors``. ID numbers and phones are masked, as the registry API masks them (its reveal endpoint
shows the full value, audited).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Schema, Status
from ninja.errors import HttpError

from linli.health.permissions import has_role
from linli.lib import scope
from linli.lib.apiutil import ErrorOut as ErrorOut  # the one refusal schema, re-exported for the API modules
from linli.lib.wording import sentences
from linli.registry.models import Household, Person, Street

M = TypeVar("M", bound=Model)

PAGE_SIZE = 50  # rows a page of the paged lists, as the registry's


class PersonBrief(Schema):
    """A person as the health API shows them: name, where they live, phone masked."""

    id: int
    name: str
    household_id: int
    address: str
    phone_masked: str
    id_number_masked: str

    @staticmethod
    def resolve_address(obj: Person) -> str:
        return obj.household.address

    @staticmethod
    def resolve_phone_masked(obj: Person) -> str:
        return obj.masked_phone

    @staticmethod
    def resolve_id_number_masked(obj: Person) -> str:
        return obj.masked_id_number


# What a row showing a person and their household loads (``PersonBrief`` and the addresses).
PERSON_RELATED = ("person__household__building", "person__household__unit", "household__building", "household__unit")


def user_name(user: Any) -> str:
    """An account as a record shows who did something: its display name, else its username."""
    return str(user.display_name or user.username) if user is not None else ""


def address_of(household: Household | None) -> str:
    return household.address if household is not None else ""


def require(request: HttpRequest, roles: frozenset[str]) -> Any:
    """The caller, when its role is in ``roles`` (a superuser always is); else 403."""
    user: Any = request.user
    if not has_role(user, roles):
        raise HttpError(403, _("您的角色不能使用该功能"))
    return user


def not_found() -> HttpError:
    return HttpError(404, _("未找到该记录，或不在您的负责范围内"))


def visible(qs: QuerySet[M], user: Any, pk: int) -> M:
    """One record ``user`` may see; out of scope is 404 like missing (no existence leak)."""
    model: Any = qs.model
    try:
        return scope.visible(qs, user).get(pk=pk)
    except model.DoesNotExist as exc:
        raise not_found() from exc


def editable(qs: QuerySet[M], user: Any, pk: int) -> M:
    """One record ``user`` may change (at or below the account's node); 404 otherwise."""
    model: Any = qs.model
    try:
        return scope.editable(qs, user).get(pk=pk)
    except model.DoesNotExist as exc:
        raise not_found() from exc


def invalid(exc: ValidationError) -> Status[dict[str, Any]]:
    """A service's refusal as a 422 body: every message in ``detail``, and per field in ``errors``."""
    errors = (
        {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        if hasattr(exc, "error_dict")
        else {"__all__": [str(m) for m in exc.messages]}
    )
    return Status(422, {"detail": sentences(m for messages in errors.values() for m in messages), "errors": errors})


def street_for(user: Any, street_id: int | None = None) -> Street:
    """The street whose tables the caller works with: its own (a superuser: ``street_id`` or the first)."""
    if street_id is not None:
        return visible(Street.objects.all(), user, street_id)
    if getattr(user, "street_id", None):
        return Street.objects.get(pk=user.street_id)
    street = Street.objects.order_by("pk").first() if scope.is_unrestricted(user) else None
    if street is None:
        raise not_found()
    return street
