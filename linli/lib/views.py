"""Small pieces the pages share: a posted id, a service's validation errors put on a form, and the
service worker of an offline page with the version of the files it keeps."""

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

# The largest id a database column holds (a signed 64-bit integer): a larger one is no record's.
MAX_ID = 2**63 - 1


def as_id(value: object) -> int | None:
    """A record's id written as text (a posted or queried value), or None when it cannot be one.

    Only ASCII digits (``"²".isdigit()`` is true too) and at most MAX_ID: a larger number sent to the
    database is an OverflowError on SQLite, an error on PostgreSQL, instead of "no such record".
    """
    text = str(value or "")
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def posted_pk(request: HttpRequest, name: str) -> int:
    """The id posted as ``name``; 404 when it is not one (a forged or stale form)."""
    number = as_id(request.POST.get(name, ""))
    if number is None:
        raise Http404
    return number


def apply_errors(form: BaseForm, exc: ValidationError, aliases: Mapping[str, str | None] | None = None) -> None:
    """Put a service's ValidationError on the form, field by field where the form has the field.

    ``aliases`` maps a service's field name to the form field that shows it (None: above the form).
    """
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field_name, errors in exc.message_dict.items():
        target = aliases.get(field_name, field_name) if aliases else field_name
        form.add_error(target if target in form.fields else None, errors)


STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def shell_version(files: Iterable[str]) -> str:
    """A digest of the static files an offline page's service worker caches (paths under
    ``linli/static``): a changed file makes a new worker that replaces the old cache."""
    digest = hashlib.sha256()
    for name in files:
        file = STATIC_DIR / name
        digest.update(name.encode())
        digest.update(file.read_bytes() if file.exists() else b"")
    return digest.hexdigest()[:16]


def offline_worker(
    request: HttpRequest,
    *,
    name: str,
    scope: str,
    shell_files: Iterable[str],
    kept: str,
    offline_text: str,
    start: str | None = None,
) -> HttpResponse:
    """The service worker of an offline page (``templates/linli/offline_sw.js``), served at a path
    under ``scope`` so that its scope covers the page: it keeps ``shell_files`` (static files, one
    cache per version) and the pages whose path matches the JavaScript pattern ``kept``, and opens
    them without network; ``start``, a page that redirects to a kept one, then opens the page last
    kept. ``name`` names its caches; ``offline_text`` is the answer for a page never kept."""
    files = list(shell_files)
    context = {
        "name": name,
        "version": shell_version(files),
        "shell": json.dumps([static(file) for file in files]),
        "kept": json.dumps(kept),
        "start": json.dumps(start),
        "scope": scope,
        "offline_text": json.dumps(offline_text, ensure_ascii=False),
    }
    response = render(request, "linli/offline_sw.js", context, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = scope
    return response
