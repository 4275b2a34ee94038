"""Who may see and change what: the one place that applies an account's scope to a queryset.

Every tree node and every record hanging off the tree declares ``SCOPE_LOOKUPS``: for each level
of the tree it belongs to, the lookup that names its ancestor at that level (its own level maps to
``"pk"``). An account is scoped to one node and carries the ids of that node and all its ancestors
(``street_id``, ``community_id``, …). Then:

* a record at or below the account's node is visible and changeable when its ancestor at the
  account's level is the account's node;
* a record above the account's node (the community of a grid worker, say) is visible only when it
  is on the account's own path up the tree, and never changeable;
* an account without a tree scope (a supplier's staff) sees no registry data at all; records that
  declare ``SUPPLIER_LOOKUP`` (the path to their supplier's id) are visible and changeable to the
  staff of that supplier (``user.supplier_id``), and to no other supplier.

Pages, API endpoints, exports and admin views all call :func:`visible` or :func:`editable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.http import Http404

if TYPE_CHECKING:
    from linli.accounts.models import User

LEVELS: tuple[str, ...] = ("street", "community", "grid", "compound", "building", "unit", "household")

M = TypeVar("M", bound=models.Model)


def _lookups(model: type[models.Model]) -> dict[str, str]:
    lookups = getattr(model, "SCOPE_LOOKUPS", None)
    if lookups is None:
        raise TypeError(f"{model.__name__} declares no SCOPE_LOOKUPS and cannot be scoped")
    return lookups


def _deepest(levels: Any) -> str:
    return max(levels, key=LEVELS.index)


def user_level(user: Any) -> str | None:
    """The deepest tree level the account is scoped to, or None when it has no tree scope."""
    if not getattr(user, "is_authenticated", False):
        return None
    for level in reversed(LEVELS):
        if getattr(user, f"{level}_id", None):
            return level
    return None


def is_unrestricted(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_superuser)


def _supplier_filter(qs: models.QuerySet[M], user: Any) -> models.QuerySet[M]:
    """A supplier's staff see (and change) their own supplier's records, nothing else."""
    lookup = getattr(qs.model, "SUPPLIER_LOOKUP", None)
    supplier_id = getattr(user, "supplier_id", None)
    if lookup is None or not supplier_id:
        return qs.none()
    return qs.filter(**{lookup: supplier_id})


def visible(qs: models.QuerySet[M], user: User | Any) -> models.QuerySet[M]:
    """The records of ``qs`` that ``user`` may see."""
    if is_unrestricted(user):
        return qs
    level = user_level(user)
    if level is None:
        return _supplier_filter(qs, user) if getattr(user, "is_authenticated", False) else qs.none()
    lookups = _lookups(qs.model)
    if level in lookups:
        return qs.filter(**{lookups[level]: getattr(user, f"{level}_id")})
    # The model lives above the account's node: only the account's own ancestors are visible.
    above = _deepest(lookups)
    return qs.filter(**{lookups[above]: getattr(user, f"{above}_id")})


def editable(qs: models.QuerySet[M], user: User | Any) -> models.QuerySet[M]:
    """The records of ``qs`` that ``user`` may change: those at or below the account's node."""
    if is_unrestricted(user):
        return qs
    level = user_level(user)
    if level is None:
        return _supplier_filter(qs, user) if getattr(user, "is_authenticated", False) else qs.none()
    if level not in _lookups(qs.model):
        return qs.none()
    return visible(qs, user)


def get_visible_or_404(qs: models.QuerySet[M], user: Any, **kwargs: Any) -> M:
    """One record the user may see; out of scope looks exactly like missing (no existence leak)."""
    try:
        return visible(qs, user).get(**kwargs)
    except ObjectDoesNotExist as exc:
        raise Http404 from exc


def get_editable_or_404(qs: models.QuerySet[M], user: Any, **kwargs: Any) -> M:
    try:
        return editable(qs, user).get(**kwargs)
    except ObjectDoesNotExist as exc:
        raise Http404 from exc


def can_see(obj: models.Model, user: Any) -> bool:
    return visible(type(obj)._default_manager.filter(pk=obj.pk), user).exists()


def can_edit(obj: models.Model, user: Any) -> bool:
    return editable(type(obj)._default_manager.filter(pk=obj.pk), user).exists()


def ancestors_of(node: models.Model) -> dict[str, int | None]:
    """The ids of a tree node and all its ancestors, keyed ``<level>_id``."""
    ids: dict[str, int | None] = {f"{level}_id": None for level in LEVELS}
    node_level = getattr(node, "LEVEL", None)
    if node_level is None:
        raise TypeError(f"{type(node).__name__} is not a node of the tree")
    for level in LEVELS[: LEVELS.index(node_level)]:
        ids[f"{level}_id"] = getattr(node, f"{level}_id")
    ids[f"{node_level}_id"] = node.pk
    return ids
