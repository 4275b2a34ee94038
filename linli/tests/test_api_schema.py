"""The OpenAPI document names each schema once: two classes with one name overwrite each other there.

django-ninja files a schema under its class name, so a second ``OrderOut`` (the health API's and the
supplies API's, say) silently replaces the first in ``/api/v1/openapi.json`` and clients generated from
it get the wrong fields. Every class a route reads or answers with must have a name of its own.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import Any

from pydantic import BaseModel

from linli.api import api


def _nested(annotation: Any) -> list[Any]:
    found = [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_nested(arg))
    return found


def _walk(model: Any, names: dict[str, set[str]], seen: set[Any]) -> None:
    if model in seen or not (inspect.isclass(model) and issubclass(model, BaseModel)):
        return
    seen.add(model)
    if not model.__module__.startswith("ninja."):
        names[model.__name__].add(f"{model.__module__}.{model.__qualname__}")
    for field in model.model_fields.values():
        for inner in _nested(field.annotation):
            _walk(inner, names, seen)


def schema_classes() -> dict[str, set[str]]:
    names: dict[str, set[str]] = defaultdict(set)
    seen: set[Any] = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    _walk(model, names, seen)
                for response in (operation.response_models or {}).values():
                    for inner in _nested(response):
                        _walk(inner, names, seen)
    return names


def test_every_schema_name_is_one_class() -> None:
    names = schema_classes()
    assert len(names) > 100  # the walk sees the API's schemas
    clashes = {name: sorted(classes) for name, classes in names.items() if len(classes) > 1}
    assert not clashes, clashes


def test_the_walk_sees_a_clash() -> None:
    class Doubled(BaseModel):
        detail: str

    other = type("Doubled", (BaseModel,), {"__annotations__": {"x": int}, "__module__": "elsewhere"})
    names: dict[str, set[str]] = defaultdict(set)
    seen: set[Any] = set()
    _walk(Doubled, names, seen)
    _walk(other, names, seen)
    assert len(names["Doubled"]) == 2
