"""One sweep that posts bad input to every form and every write endpoint of the API.

The product rule: a clear message in the user's language for every bad input, nothing half-saved,
nothing lost. The scope sweep (``test_scope_sweep.py``) asks every URL as someone *outside* its scope;
this one asks the same URLs, filled with the same objects of community C2, as someone *allowed* to use
them (C2's own community worker, or the account the page is for), and sends malformed input:

* pages: every URL of the resolver is posted an empty form; one that does not answer 405 takes POST and
  must have plausible bodies (the scope sweep's ``posts``, or ``BODIES`` below). Each field of each body
  is then replaced, one at a time, by bad values of its kind (text, number, id, decimal, date, time, …);
* the API: every POST / PUT / PATCH / DELETE of the OpenAPI schema is sent its plausible body (the scope
  sweep's ``plausible_body``) with each property replaced by bad values of its JSON type, wrong JSON
  types, a body that is not an object, and path ids that do not exist.
  That half is ``test_bad_input_sweep_api.py`` (its own module: the suite's two workers run both at once).

Each answer must be: never a 500; a redirect (the input was taken), or a 4xx / the form again with a
message; the message in Chinese by default and in English when asked (the language cookie for pages,
Accept-Language for the API), with no raw Python or database text; and a refused request writes
nothing (row counts of every table, C2's rows in full). Each request runs in a savepoint rolled back
after it, so that an accepted bad value cannot change what the next request meets.
"""

from __future__ import annotations

import html
import inspect
import json
import re
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.apps import apps
from django.contrib.messages import constants as message_levels
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.http import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from linli.registry.models import Street
from linli.tests.test_scope_sweep import (
    C2,
    CONTROL,
    PAGES,
    PUBLIC_PAGES,
    Case,
    body_text,
    c2_control,
    logged_in,
    page_url,
    site_routes,
    state,
)
from linli.tests.test_scope_sweep import c2 as c2  # the fixture

# --- bad values ---------------------------------------------------------------------------------------

LONG = "x" * 10_000
NUL = "a\x00b"
NOT_UTF8 = b"\xff\xfe\xfa"  # sent as raw bytes in the form body
HUGE = str(2**63)
MISSING_ID = "999999999"
PAST_INT32 = 2**31  # past an integer column (a count, a 32-bit id) on PostgreSQL
NOT_ASCII_DIGIT = "²"  # a digit to str.isdigit(), not to int()

# Per kind of form field: a representative set, not a cross product.
PAGE_VALUES: dict[str, tuple[Any, ...]] = {
    "text": ("", "   ", LONG, NUL, NOT_UTF8),
    "number": ("", "abc", "-1", "1e20", HUGE, str(PAST_INT32), MISSING_ID, NOT_ASCII_DIGIT, NUL),  # a count, or an id
    "decimal": ("", "abc", "-1", "1e20", "NaN", "Infinity", NUL),
    "date": ("", "2026-02-30", "0000-01-01", "9999-12-31", NUL),
    "datetime": ("", "2026-02-30T08:00", "0000-01-01T00:00", "9999-12-31T23:59", NUL),
    "time": ("", "25:61", NUL),
    "ids": (["abc"], [MISSING_ID], [HUGE], [NOT_ASCII_DIGIT], [NUL]),
    "uuid": ("not-a-uuid", NUL),
}
# Per JSON type of an API property.
API_VALUES: dict[str, tuple[Any, ...]] = {
    "string": ("", "   ", LONG, NUL, 12, None, ["x"]),
    "integer": ("abc", -1, 10**20, 2**63, PAST_INT32, int(MISSING_ID), 1.5, None, [1]),
    "number": ("abc", -1, 1e20, "NaN", "Infinity", None),
    "decimal": ("abc", "-1", "1e20", "NaN", "Infinity", None),
    "boolean": ("maybe", None, [True]),
    "date": ("2026-02-30", "0000-01-01", "9999-12-31", NUL, 20260101),
    "date-time": ("2026-02-30T08:00:00+08:00", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59+08:00", NUL),
    "time": ("25:61", NUL),
    "uuid": ("not-a-uuid", NUL),
    "array": ("x", {"a": 1}, [None], [NUL], [{"x": NUL}]),
    "object": ("x", [], {"x": NUL}),
}
WHOLE_BODIES: tuple[Any, ...] = ([], "x", 1, None, {"": NUL})

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
TIME = re.compile(r"^\d{2}:\d{2}$")
DECIMAL = re.compile(r"^-?\d+\.\d+$")
HEX_KEY = re.compile(r"^[0-9a-f]{32}$")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# What a person must never read: Python's and the databases' own words.
RAW = re.compile(
    r"Traceback|IntegrityError|DataError|OperationalError|ProgrammingError|ValueError|TypeError|KeyError|"
    r"OverflowError|AttributeError|ValidationError\(|violates|UNIQUE constraint|NOT NULL constraint|"
    r"null character|NUL \(0x00\)|psycopg|sqlite|Input should|Field required|object has no attribute|"
    r"invalid literal|\[ErrorDetail|^\['|\{'"
)


def field_kind(name: str, value: Any) -> str:
    """The kind of a posted field, read from its plausible value."""
    if isinstance(value, list):
        return "ids"
    text = str(value)
    if text == "on":
        return "checkbox"
    if name in ("key", "client_uuid") or HEX_KEY.match(text):
        return "uuid"
    if DATETIME.match(text):
        return "datetime"
    if DATE.match(text):
        return "date"
    if TIME.match(text):
        return "time"
    if DECIMAL.match(text):
        return "decimal"
    if text.lstrip("-").isdigit():
        return "number"
    return "text"


# --- pages ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PagePost:
    """A page URL the sweep posts to, as ``persona``, with plausible ``bodies`` to spoil one field at a time."""

    name: str
    url: str
    persona: str
    bodies: tuple[dict[str, Any], ...]
    files: dict[str, Callable[[], Any]] = field(default_factory=dict)


# URL name -> the account allowed to post to it, when it is not C2's own community worker.
ALLOWED: dict[str, str] = {
    "supplies:supplier_create": "street_command",
    "supplies:supplier_edit": "street_command",
    "supplies:item_create": "street_command",
    "supplies:settings": "street_command",
    "health:rule_edit": "street_command",
    "health:site_edit": "street_command",
    "health:risk_areas": "street_command",
    "health:settings": "street_command",
    "health:sites": "street_command",
    "supplies:item": "street_command",
    "supplies:stock_report": "street_command",
    "supplies:price_report": "street_command",
    "supplies:staff_checks": "street_command",
}
# URL names whose POST only the account they are for can make, and none is planted in C2 (why).
NOT_SWEPT: dict[str, str] = {
    "supplies:me": "a resident's own order form: C1's resident, no window of theirs is open in the sweep",
    "supplies:package_confirm": "a resident's own package: none in C2",
    "gate:duty_sign": "a volunteer's own shift: C2's worker is told it is not theirs",
    "accounts:logout": "no input",
    "health:me": "a resident under monitoring reports their own temperature: the personas' resident is not",
}


# URL name -> cases of the scope sweep this sweep leaves out (why).
SKIPPED_CASES: dict[str, Callable[[C2, Case], bool]] = {
    # the planted household has ordered in the open window already: its page shows the order, not the form
    "supplies:proxy_household": lambda c2, case: case.kwargs["pk"] == c2.household.pk,
}


def bad_file(name: str, content: bytes, content_type: str) -> Callable[[], Any]:
    return lambda: SimpleUploadedFile(name, content, content_type=content_type)


# URL name -> bodies for POST pages the scope sweep posts nothing to (it asks them only as a list).
BODIES: dict[str, Callable[[C2], tuple[dict[str, Any], ...]]] = {
    "accounts:login": lambda c2: ({"username": "outsider", "password": "wrong-password"},),
    "accounts:resident_login": lambda c2: ({"phone": c2.person.phone},),
    "accounts:resident_code": lambda c2: ({"code": "123456"},),
    "accounts:tokens": lambda c2: ({"name": "新令牌"},),
    "health:me": lambda c2: ({"temperature": "36.5", "slot": "1"},),
    "org:group_create": lambda c2: (
        {"community": c2.community.pk, "kind": "liaison", "name": "新工作组", "duties": "联络"},
    ),
    "health:settings": lambda c2: (
        {
            "morning_slot": "09:00",
            "afternoon_slot": "15:00",
            "report_deadline": "16:00",
            "summary_due": "17:00",
            "fever_threshold": "37.3",
            "risk_window_days": "14",
            "status_window_days": "14",
            "large_outbreak_cases": "10",
            "due_community_notified": "10",
            "due_street_informed": "30",
            "due_centre_informed": "60",
            "due_ambulance_sent": "60",
            "due_at_fever_clinic": "120",
            "due_cdc_informed": "120",
            "unit_seal_reports_per_day": "2",
            "building_seal_reports_per_day": "1",
        },
    ),
}
# URL name -> files that are not what they claim, posted to its upload field.
FILES: dict[str, dict[str, Callable[[], Any]]] = {
    "rosters:index": {
        "text named .xlsx": bad_file("台账.xlsx", "name,room\n张三,101\n".encode(), "application/vnd.ms-excel"),
        "empty .xlsx": bad_file("台账.xlsx", b"", "application/octet-stream"),
        "zip without a sheet": bad_file("台账.xlsx", b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
        "jpeg named .xlsx": bad_file("台账.xlsx", b"\xff\xd8\xff\xe0" + b"0" * 64, "image/jpeg"),
        "a .csv": bad_file("台账.csv", b"name\n\x00\n", "text/csv"),
        "NUL in the name": bad_file("a\x00b.xlsx", b"PK", "application/octet-stream"),
    },
}
FILE_FIELDS = {"rosters:index": "file"}
FILE_BODIES: dict[str, dict[str, Any]] = {"rosters:index": {"mode": "all"}}


def page_posts(c2: C2) -> tuple[list[PagePost], list[str]]:
    """Every URL of the resolver that takes a POST, with its bodies; and the problems found in listing them."""
    problems: list[str] = []
    found: list[PagePost] = []
    routes = {route.name: route for route in site_routes()}
    names = [*routes, *PUBLIC_PAGES]
    for name in dict.fromkeys(n for n in names if n):
        if name in NOT_SWEPT:
            continue
        cases = PAGES[name](c2) if name in PAGES else [Case(targets_c2=False)]
        persona = ALLOWED.get(name, CONTROL if name not in PUBLIC_PAGES else "")
        for case in cases:
            if name in SKIPPED_CASES and SKIPPED_CASES[name](c2, case):
                continue
            url = page_url(name, case)
            bodies = case.posts or (BODIES[name](c2) if name in BODIES else ())
            found.append(PagePost(name, url, persona, tuple(bodies), FILES.get(name, {})))
    return found, problems


# --- reading answers ------------------------------------------------------------------------------------

ERRORLIST = re.compile(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', re.S)
ERROR_MESSAGE = re.compile(r'<li class="[^"]*\berror\b[^"]*">(.*?)</li>', re.S)
MAIN = re.compile(r"<main>(.*?)</main>", re.S)
TAG = re.compile(r"<[^>]+>")
ERROR_PAGE = '<header class="top"><a class="brand"'  # error_base.html
NO_MESSAGE = "(no message found on the page)"


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(TAG.sub(" ", fragment)).split())


def page_errors(response: HttpResponseBase, text: str) -> list[str]:
    """The error messages a page shows (its form's errors, its error messages), or a 4xx page's text."""
    errors = [text_of(item) for block in ERRORLIST.findall(text) for item in re.findall(r"<li>(.*?)</li>", block, re.S)]
    errors += [text_of(item) for item in ERROR_MESSAGE.findall(text)]
    request = getattr(response, "wsgi_request", None)
    if request is not None and response.status_code in (301, 302, 303):
        # only what this request said: messages left over from earlier redirects are still in the session
        queued = getattr(getattr(request, "_messages", None), "_queued_messages", [])
        errors += [str(m) for m in queued if m.level >= message_levels.ERROR]
    if not errors and 400 <= response.status_code < 500:
        main = MAIN.search(text)
        if ERROR_PAGE in text or not main:  # the 400/403/404 page: its text is the message
            errors.append(text_of(main.group(1)) if main else text_of(text)[:300])
        else:
            errors.append(NO_MESSAGE)
    return [error for error in errors if error]


def language_problems(errors: list[str], language: str, sent: str) -> list[str]:
    problems = []
    for error in errors:
        if error == NO_MESSAGE:
            problems.append(error)
        elif RAW.search(error):
            problems.append(f"raw error text «{error[:160]}»")
        elif language == "en" and len(CJK.findall(error)) > len(re.findall("[A-Za-z]", error)):
            # names of records and examples (沪A12345) may be Chinese; the sentence around them may not
            problems.append(f"not in English: «{error[:160]}»")
        elif language != "en" and not CJK.search(error):
            problems.append(f"not in Chinese: «{error[:160]}»")
    return problems


# --- the state: nothing written --------------------------------------------------------------------------

# Tables a refused request may touch: the session (a login form), a remembered idempotency key.
# A failed login is recorded for throttling (accounts.LoginFailure).
UNCOUNTED = {"django_session", "supplies_idempotencykey", "accounts_loginfailure"}


def all_counts_sql() -> str:
    tables = sorted(
        {model._meta.db_table for model in apps.get_models(include_auto_created=True) if model._meta.managed}
        - UNCOUNTED
    )
    quote = connection.ops.quote_name
    return "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(table)})" for table in tables)


def snapshot(c2: C2, counts_sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(counts_sql)
        counts = cursor.fetchone()
    return counts, state(c2)


def written(before: Any, after: Any, counts_sql: str) -> list[str]:
    tables = counts_sql[len("SELECT ") :].split(", ")
    found = [
        tables[i].split("FROM ")[-1].rstrip(")")
        for i, (a, b) in enumerate(zip(*(before[0], after[0]), strict=True))
        if a != b
    ]
    found += [key for key in before[1] if before[1][key] != after[1][key]]
    return found


# --- the sweep --------------------------------------------------------------------------------------------


def where(exc: BaseException) -> str:
    """The last line of our own code the exception passed through."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if "/linli/" in frame.filename]
    frames = [frame for frame in frames if "/tests/" not in frame.filename] or frames
    return f"{frames[-1].filename.split('/linli/')[-1]}:{frames[-1].lineno}" if frames else "?"


class Rollback(Exception):
    """Raised to leave the savepoint every request runs in."""


@dataclass
class Tally:
    requests: int = 0
    refused: int = 0
    accepted: int = 0
    findings: list[str] = field(default_factory=list)


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 40 else text[:30] + f"…({len(text)} chars)"


def form_body(body: dict[str, Any]) -> bytes:
    """The body as a browser sends it: urlencoded, with the CSRF token every form carries (not checked here)."""
    pairs: list[tuple[str, Any]] = [("csrfmiddlewaretoken", "x" * 64)]
    for key, value in body.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((key, item if isinstance(item, bytes) else str(item)))
    return urllib.parse.urlencode(pairs).encode("ascii")


def writes_sql() -> str | None:
    """PostgreSQL: the rows this transaction has inserted, updated or deleted so far in the counted tables,
    its open savepoint's included (``pg_stat_get_xact_tuples_*`` add the live subtransactions' counts).
    Unchanged across a request means it wrote nothing, and the full snapshot need not be read; changed
    (even to the same values), the snapshot decides. None elsewhere (SQLite: see :meth:`Sweeper.writes`)."""
    if connection.vendor != "postgresql":
        return None
    skipped = ", ".join(f"'{table}'" for table in sorted(UNCOUNTED))
    return (
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables"
        f" WHERE relname NOT IN ({skipped})"
    )


class Sweeper:
    """Sends one request in a savepoint, rolls it back, and judges the answer."""

    def __init__(self, c2: C2, tally: Tally) -> None:
        self.c2 = c2
        self.tally = tally
        self.counts_sql = all_counts_sql()
        self.baseline = snapshot(c2, self.counts_sql)
        self.writes_sql = writes_sql()
        self.writes_before: int | None = None
        if self.writes() is not None:  # the counts must see a row written in a savepoint, or prove nothing
            try:
                with transaction.atomic():
                    before = self.writes()
                    Street.objects.create(name="写入检测")
                    assert self.writes() != before, "the write counter did not count a row written"
                    raise Rollback
            except Rollback:
                pass

    def writes(self) -> int | None:
        """A counter that moves whenever a row is written (None where there is none): PostgreSQL's per
        transaction counts of the counted tables, or SQLite's ``total_changes`` of the connection (every
        table, rows rolled back included: a request that only writes a session still reads the snapshot)."""
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            return int(connection.connection.total_changes)
        if self.writes_sql is None:
            return None
        with connection.cursor() as cursor:
            cursor.execute(self.writes_sql)
            return int(cursor.fetchone()[0])

    def run(self, what: str, send: Callable[[], HttpResponseBase], *, language: str, sent: str = "") -> int:
        """The answer's status (500 for an exception); a finding is recorded for what breaks the rule."""
        self.tally.requests += 1
        status = 500
        try:
            with transaction.atomic():
                self.writes_before = self.writes()
                try:
                    response = send()
                except Exception as exc:  # the test client re-raises what the view raised: a 500
                    self.tally.findings.append(f"{what}: 500 {type(exc).__name__}: {str(exc)[:200]} at {where(exc)}")
                    raise Rollback from exc
                status = response.status_code
                self.judge(what, response, language=language, sent=sent)
                raise Rollback
        except Rollback:
            pass
        return status

    def judge(self, what: str, response: HttpResponseBase, *, language: str, sent: str) -> str:
        status = response.status_code
        text = body_text(response)
        if status >= 500:
            self.tally.findings.append(f"{what}: answered {status}")
            return "error"
        if RAW.search(text.replace(sent, "")) and status != 200:
            self.tally.findings.append(f"{what}: shows raw error text: {RAW.search(text).group(0)!r}")  # type: ignore[union-attr]
        if response.get("Content-Type", "").startswith("application/json"):
            errors = [str(json.loads(text).get("detail", ""))] if 400 <= status < 500 else []
        else:
            errors = page_errors(response, text)
        if not errors:
            self.tally.accepted += 1
            return "accepted"
        self.tally.refused += 1
        problems = language_problems(errors, language, sent)
        if problems:
            self.tally.findings.append(f"{what} [{language or 'zh'}]: {'; '.join(problems)}")
        if self.writes_before is not None and self.writes() == self.writes_before:
            return "refused"  # the database counted no row written: nothing to compare
        changes = written(self.baseline, snapshot(self.c2, self.counts_sql), self.counts_sql)
        if changes:
            self.tally.findings.append(f"{what}: refused ({status}) but wrote {', '.join(changes)}")
        return "refused"


def page_client(c2: C2, persona: str, language: str) -> Client:
    client = logged_in(getattr(c2.personas, persona)) if persona else Client()
    if language:
        client.cookies["django_language"] = language
    return client


def sweep_page_post(sweeper: Sweeper, c2: C2, post: PagePost, clients: dict[tuple[str, str], Client]) -> None:
    zh, en = clients[post.persona, ""], clients[post.persona, "en"]

    def send(client: Client, body: dict[str, Any]) -> Callable[[], HttpResponseBase]:
        return lambda: client.post(post.url, form_body(body), content_type="application/x-www-form-urlencoded")

    # an empty form: refused with a message (or taken, when the page needs nothing)
    sweeper.run(f"POST {post.url} (empty)", send(zh, {}), language="")
    statuses: list[int] = []
    for body in post.bodies:
        # the control: the plausible body is taken (or refused for a reason of the page, not of scope)
        label = f"POST {post.url} {post.persona or 'anonymous'}"
        statuses.append(sweeper.run(f"{label} plausible body", send(zh, body), language=""))
        for name, value in body.items():
            kind = field_kind(name, value)
            if name == "action" or kind == "checkbox":
                continue
            for index, bad in enumerate(PAGE_VALUES[kind]):
                spoiled = {**body, name: bad}
                what = f"{label} {name}={shown(bad)} ({kind})"
                sweeper.run(what, send(zh, spoiled), language="")
                if index == 0 or bad is NOT_UTF8:
                    sweeper.run(what, send(en, spoiled), language="en")
    if statuses and all(status in (403, 404, 405) for status in statuses):
        sweeper.tally.findings.append(
            f"control: POST {post.url} as {post.persona}: every plausible body refused {statuses}: proves nothing"
        )
    for label, make in post.files.items():
        for language, client in (("", zh), ("en", en)):
            body = {**FILE_BODIES.get(post.name, {}), FILE_FIELDS[post.name]: make()}
            sweeper.run(f"POST {post.url} file: {label}", partial(client.post, post.url, body), language=language)


def takes_post(name: str) -> bool:
    """Whether the view of a URL name reads a POST (its code, decorators included, says ``POST``)."""
    return "POST" in view_source(name)


def view_source(name: str) -> str:
    for pattern_name, callback in callbacks(get_resolver().url_patterns):
        if pattern_name == name:
            try:
                return inspect.getsource(inspect.unwrap(callback))
            except (OSError, TypeError):
                return ""
    raise AssertionError(f"no URL named {name}")


def callbacks(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from callbacks(
                pattern.url_patterns, f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            )
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern.callback


# URL names that take a POST without any field (a button): the empty POST is all there is to send.
NO_FIELDS = {
    "accounts:token_revoke",
    "gate:exempt_revoke",
    "gate:visit_checkout",
    "gate:visit_reveal",
    "gate:vehicle_pass_revoke",
    "gate:parcel_delivered",
    "gate:alert_ack",
    "gate:violation_ack",
    "org:group_delete",
    "registry:person_delete",
    "registry:person_reveal",
    "supplies:order_cancel",
    "supplies:money_credit",
    "supplies:window_aggregate",
}


def test_every_form_refuses_bad_input_clearly_and_writes_nothing(c2: C2) -> None:
    # given
    started = time.monotonic()
    c2_control(c2)
    posts, problems = page_posts(c2)
    tally = Tally()
    sweeper = Sweeper(c2, tally)
    personas = {post.persona for post in posts}
    clients = {(p, lang): page_client(c2, p, lang) for p in personas for lang in ("", "en")}
    swept = [post for post in posts if takes_post(post.name)]
    with_bodies = {post.name for post in swept if post.bodies or post.files}
    problems += [
        f"{post.name} ({post.url}) takes POST but the sweep has no body for it: add one to BODIES"
        for post in swept
        if post.name not in with_bodies and post.name not in NO_FIELDS
    ]
    # a URL of a page that another URL of the same name is posted to (a query of its list): not posted again
    swept = [post for post in swept if post.bodies or post.files or post.name not in with_bodies]
    assert not problems, "\n".join(problems)

    # when
    for post in swept:
        sweep_page_post(sweeper, c2, post, clients)

    # then
    print(
        f"\nbad-input page sweep: {len({p.name for p in swept})} URL names taking POST, {len(swept)} URLs, "
        f"{tally.requests} requests ({tally.refused} refused, {tally.accepted} taken), "
        f"{time.monotonic() - started:.1f} s"
    )
    assert not tally.findings, "\n".join(tally.findings)
