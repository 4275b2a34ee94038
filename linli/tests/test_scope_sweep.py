"""One sweep over every page and every API endpoint: nothing of community C2 reaches anyone outside it.

Each app tests its own refusals; this sweep walks the URL resolver and the OpenAPI schema instead, so
a new page or endpoint cannot slip past it: a URL name, an API path or a path parameter without an
entry in the tables below fails the sweep until someone says which C2 object it must be asked for.

Every URL is filled with objects of community C2 (团结社区: grid G3, compound P3, building B4 and
the records hanging off them) and asked for by C1's community worker, G1's grid worker, P1's gate
guard, the supplier and the resident (SPEC: every account sees and changes only its part of the tree):

* a URL that names a C2 object answers 403, 404 (405 for a method it does not take) or a redirect to
  the login page — never a page, never a half-done write;
* a list (a URL that names no C2 object) may answer, but shows no C2 object;
* no body contains a C2 marker (names, room, phone, ID number, notes, the URLs of C2 records), and
  nothing is written: rows are counted, and C2's rows compared, before and after each URL.

A positive control asks the same URLs as C2's own community worker (``personas.outsider``): a
targeted URL must work for them, and a list must show them a marker — otherwise the sweep would
pass on a page that refuses everyone or a detector that sees nothing.
"""

from __future__ import annotations

import datetime
import io
import itertools
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection, models
from django.http import HttpResponseBase
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.http import urlencode
from openpyxl import Workbook

from linli.accounts.models import ApiToken, SmsMessage
from linli.accounts.services import api_token_create, sms_send
from linli.audit.models import AuditAction, AuditEvent
from linli.gate import duty as gate_duty
from linli.gate import quota as gate_quota
from linli.gate import services as gate_services
from linli.gate import visitors as gate_visitors
from linli.gate.models import (
    Checkpoint,
    DutyAssignment,
    ExemptPass,
    GateAlert,
    GateRules,
    Parcel,
    QuotaViolation,
    Shift,
    VehicleEntry,
    VehiclePass,
    Visit,
)
from linli.health import models as health_models
from linli.lib.testing import Personas, make_id_number, make_phone
from linli.organisation import services as org_services
from linli.organisation.models import CoverSlot, GroupMember, ManagingUnit, ResponsibilityChain, WorkingGroup
from linli.registry import services as registry_services
from linli.registry.choices import HealthCode, Relation, Residency
from linli.registry.models import (
    Building,
    Community,
    Compound,
    Grid,
    Household,
    Person,
    Street,
    TravelRecord,
    Unit,
)
from linli.rosters import layout
from linli.rosters.models import ImportJob
from linli.rosters.services import roster_import
from linli.survey import services as survey_services
from linli.survey.models import SurveyVisit

# The accounts that must see nothing of C2 (the brief's five; the API is asked by the same five).
REFUSED = ("community_worker", "grid_worker", "gate_guard", "supplier", "resident")
CONTROL = "outsider"  # C2's own community worker

# Route prefixes the sweep leaves alone: the admin has its own scoped tests (ScopedAdmin), i18n only
# switches language, static files hold no data, and the API is swept through its schema below.
SKIPPED_PREFIXES = ("admin/", "i18n/", "api/v1/", "static", "media")

# Public by design: each is checked explicitly (anonymous, answers, shows nothing of C2).
PUBLIC_PAGES = {
    "accounts:login": "get",
    "accounts:resident_login": "get",
    "accounts:resident_code": "get",
    "accounts:logout": "post",  # GET is not allowed since Django 5; POST logs out and redirects
    "healthz": "get",
    "favicon": "redirect",  # GET: a permanent redirect to the static icon
    "gate:manifest": "get",  # the checkpoint web app's manifest: names and icons only
    "gate:service_worker": "get",  # its service worker: static file names only
}

# Names and values that exist only in C2 (the personas' tree repeats "户主101", "1号楼", "第一网格"
# in both communities, so the sweep plants records whose every visible word is C2's own).
PERSON_NAME = "欧阳翠花"
ROOM = "B909"
HOUSEHOLD_NOTE = "团结户机密备注"
LANDLORD = "皇甫房东"
TRAVEL_PLACE = "团结行程机密地"
VISIT_NOTE = "团结走访机密"
GROUP_NAME = "团结机要工作组"
MEMBER_NAME = "慕容组员"
RESPONSIBLE = "诸葛责任"
SLOT_NAME = "上官值班"
MANAGER_NAME = "团结原房管所"
JOB_FILE = "团结机密台账.xlsx"
TOKEN_NAME = "外社区令牌"
SMS_BODY = "团结短信机密"
FORGED_NAME = "冒名顶替"
GATE_NAME = "团结秘密东门"  # what an outsider's upload calls C2's person


# --- C2: the objects every URL is filled with ---------------------------------------------------------


@dataclass
class C2:
    personas: Personas
    household: Household  # planted: room B909, a note, a landlord, the marker person
    plain_household: Household  # one of the personas' tree, as built
    person: Person
    visit: SurveyVisit
    group: WorkingGroup
    member: GroupMember
    slot: CoverSlot
    manager: ManagingUnit
    job: ImportJob
    token: ApiToken
    upload_dir: Path
    markers: tuple[str, ...] = ()
    # The gate's C2 records (checkpoint, pass, …), planted by plant_gate().
    gate: dict[str, Any] = field(default_factory=dict)
    # The health pages' C2 records (order, escalation, …), planted by plant_health().
    health: dict[str, Any] = field(default_factory=dict)
    # The supplies records (团结超市, its windows, orders, packages, …), planted by plant_supplies().
    supplies: dict[str, Any] = field(default_factory=dict)
    # What state() reads, compiled on its first call (the ids it filters on do not change).
    state_sql: StateSql | None = field(default=None, repr=False)

    @property
    def community(self) -> Community:
        return self.personas.tree.c2

    @property
    def compound(self) -> Compound:
        return self.personas.tree.p3

    @property
    def unit(self) -> Unit:
        return self.household.unit

    def nodes(self) -> list[tuple[str, models.Model]]:
        tree = self.personas.tree
        return [
            ("community", tree.c2),
            ("grid", tree.g3),
            ("compound", tree.p3),
            ("building", tree.b4),
            ("unit", self.unit),
        ]

    def ids(self, kind: str) -> set[int]:
        """The ids of C2's records of one kind, read now (the sweep's own controls add some)."""
        c2 = self.community.pk
        querysets: dict[str, models.QuerySet[Any]] = {
            "community": Community.objects.filter(pk=c2),
            "grid": Grid.objects.filter(community_id=c2),
            "compound": Compound.objects.filter(community_id=c2),
            "building": Building.objects.filter(community_id=c2),
            "unit": Unit.objects.filter(community_id=c2),
            "household": Household.objects.filter(community_id=c2),
            "person": Person.objects.filter(household__community_id=c2),
            "group": WorkingGroup.objects.filter(community_id=c2),
            "job": ImportJob.objects.filter(community_id=c2),
            "event": AuditEvent.objects.filter(community_id=c2),
            **supplies_querysets(c2),
        }
        return set(querysets[kind].values_list("pk", flat=True))

    def roster(self, name: str, rows: list[dict[str, str]]) -> Path:
        """An .xlsx roster (the template's columns) whose rows are placed in C2."""
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.append(layout.headers())
        place = {
            "community": "团结社区",
            "grid": "第一网格",
            "compound": "团结新村",
            "building": "1号楼",
            "unit": "1单元",
        }
        defaults = {"relation": "户主", "residency": "常住", "health_code": "绿码"}
        for row in rows:
            values = {**place, **defaults, **row}
            sheet.append([values.get(column.key, "") for column in layout.COLUMNS])
        path = self.upload_dir / name
        workbook.save(path)
        return path


def build_c2(personas: Personas, upload_dir: Path) -> C2:
    """Plant C2's records, each written by C2's own community worker through the services."""
    tree, actor = personas.tree, personas.outsider
    unit = tree.units[f"{tree.b4.code}/1单元"]
    household = registry_services.household_create(
        unit=unit, room=ROOM, actor=actor, note=HOUSEHOLD_NOTE, is_rented=True, landlord_name=LANDLORD
    )
    person = registry_services.person_create(
        household=household,
        actor=actor,
        name=PERSON_NAME,
        id_number=make_id_number("19550505"),
        phone=make_phone(),
        relation=Relation.HOUSEHOLDER.value,
        lives_alone=True,
    )
    registry_services.travel_record_create(person=person, date=timezone.localdate(), place=TRAVEL_PLACE, actor=actor)
    visit = survey_services.survey_visit_record(
        household=household, visitor=actor, people_home=[person], members_confirmed=True, note=VISIT_NOTE
    )
    org_services.responsibility_chain_save(
        compound=tree.p3,
        actor=actor,
        street_leader="街道包保甲",
        street_leader_phone=make_phone(),
        community_leader="社区包保乙",
        community_leader_phone=make_phone(),
        responsible=RESPONSIBLE,
        responsible_phone=make_phone(),
    )
    slot = org_services.cover_slot_add(
        compound=tree.p3,
        actor=actor,
        name=SLOT_NAME,
        phone=make_phone(),
        starts=datetime.time(8),
        ends=datetime.time(17),
    )
    manager = org_services.managing_unit_add(compound=tree.p3, actor=actor, name=MANAGER_NAME, buildings=1)
    group = org_services.working_group_create(
        street=tree.street, community=tree.c2, actor=actor, kind="liaison", name=GROUP_NAME, duties="联络"
    )
    member = org_services.group_member_add(group=group, actor=actor, name=MEMBER_NAME, phone=make_phone())
    sms_send(phone=person.phone, body=SMS_BODY, person=person)
    token, _key = api_token_create(user=actor, name=TOKEN_NAME)
    c2 = C2(
        personas=personas,
        household=household,
        plain_household=tree.households[f"{tree.b4.code}/1单元/101"],
        person=person,
        visit=visit,
        group=group,
        member=member,
        slot=slot,
        manager=manager,
        job=ImportJob(),
        token=token,
        upload_dir=upload_dir,
    )
    # A rejected import with a bad row: its page, its status and its bad-rows workbook all exist.
    bad = c2.roster("c2-bad.xlsx", [{"room": ROOM, "name": "错行", "id_number": "123"}])
    c2.job = roster_import(path=bad, user=actor, file_name=JOB_FILE)
    assert c2.job.errors and not c2.job.is_running, c2.job.message
    plant_gate(c2)
    plant_duty(c2)
    plant_desk(c2)
    plant_health(c2)
    plant_health_api(c2)
    plant_supplies(c2)
    c2.markers = (
        *c2.gate.get("markers", ()),
        *c2.health.get("markers", ()),
        *c2.supplies.get("markers", ()),
        tree.c2.name,
        tree.p3.name,
        PERSON_NAME,
        ROOM,
        person.phone,
        person.id_number or "",
        HOUSEHOLD_NOTE,
        LANDLORD,
        TRAVEL_PLACE,
        VISIT_NOTE,
        GROUP_NAME,
        MEMBER_NAME,
        RESPONSIBLE,
        SLOT_NAME,
        MANAGER_NAME,
        JOB_FILE,
        TOKEN_NAME,
        SMS_BODY,
        # a page that links to a C2 record has found it
        *(reverse("registry:household", kwargs={"pk": pk}) for pk in c2.ids("household")),
        *(reverse("registry:node", kwargs={"level": level, "pk": node.pk}) for level, node in c2.nodes()),
    )
    return c2


def plant_gate(c2: C2) -> None:
    """C2's gate: a checkpoint, a pass for the planted household, a scan, a fever alert."""
    tree, actor = c2.personas.tree, c2.personas.outsider
    checkpoint = gate_services.checkpoint_create(compound=tree.p3, name=GATE_NAME, actor=actor)
    household_pass = gate_services.pass_issue(household=c2.household, members=[c2.person], actor=actor)
    gate_services.scan_record(
        checkpoint,
        actor,
        gate_services.ScanInput(
            uuid=uuid.uuid4(),
            credential=household_pass.token,
            direction="in",
            device_time=timezone.now(),
            temperature=Decimal("38.5"),
            person_id=c2.person.pk,
        ),
    )
    c2.gate.update(checkpoint=checkpoint, household_pass=household_pass)
    c2.gate["markers"] = (GATE_NAME, household_pass.number, household_pass.token[:40])


SHIFT_NAME = "团结机密班"
VOLUNTEER_NAME = "司马值守"


def plant_duty(c2: C2) -> None:
    """C2's roster (a shift with a volunteer on it) and a quota violation: two outings in one window."""
    actor, checkpoint = c2.personas.outsider, c2.gate["checkpoint"]
    shift = gate_duty.shift_create(
        checkpoint=checkpoint,
        actor=actor,
        name=SHIFT_NAME,
        starts=datetime.time(8),
        ends=datetime.time(12),
        min_staff=1,
    )
    assignment = gate_duty.assignment_add(
        shift=shift,
        date=gate_duty.next_date(shift),
        actor=actor,
        volunteer_name=VOLUNTEER_NAME,
        volunteer_phone=make_phone(),
    )
    rules = gate_services.quota_rules(gate_services.rules_for(c2.compound))
    window = gate_quota.period_start(rules, timezone.now()) - datetime.timedelta(days=rules.period_days)
    gate_services.sync_scans(
        checkpoint,
        actor,
        [
            gate_services.ScanInput(
                uuid=uuid.uuid4(),
                credential=c2.gate["household_pass"].token,
                direction="out",
                device_time=datetime.datetime.combine(window, datetime.time(hour), tzinfo=gate_quota.local_zone()),
                verdict="allowed",
            )
            for hour in (9, 10)
        ],
    )
    c2.gate.update(
        shift=shift,
        assignment=assignment,
        alert=GateAlert.objects.filter(compound=c2.compound).get(),
        violation=QuotaViolation.objects.filter(compound=c2.compound).get(),
    )
    c2.gate["markers"] = (*c2.gate.get("markers", ()), SHIFT_NAME, VOLUNTEER_NAME)


def rules_form_post() -> dict[str, Any]:
    return {
        "risk_level": "high",
        "mode": "quota",
        "outings_per_period": "9",
        "period_days": "1",
        "max_hours_out": "9",
        "out_from": "00:00",
        "out_until": "23:00",
        "period_anchor": "2020-01-01",
    }


# The gate desk's C2 records (A4–A7): what each refused account must not see or change.
DESK_EXEMPT_NAME = "东方防疫员"
DESK_EXEMPT_ORG = "团结机密疾控站"
DESK_VISITOR = "司马访客"
DESK_PLATE = "沪C2C2C2"
DESK_TRACKING = "团结快递机密单号"
# The pickup code of C2's parcel at the gate: the API control hands it over with this code (the
# checkpoint's pickup runs first in the schema; the parcel's own pickup is then an idempotent retry).
DESK_PICKUP_CODE = "246810"


def plant_desk(c2: C2) -> None:
    """C2's gate desk: an exempt pass, an escorted visitor, a resident vehicle and its entry, parcels."""
    tree, actor = c2.personas.tree, c2.personas.outsider
    checkpoint = c2.gate["checkpoint"]
    exempt = gate_visitors.exempt_create(
        compound=tree.p3,
        actor=actor,
        kind="epidemic_worker",
        name=DESK_EXEMPT_NAME,
        organisation=DESK_EXEMPT_ORG,
        proof="团结证明1",
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
    )
    visitor_id = make_id_number("19660606")
    visit = gate_visitors.visit_register(
        checkpoint=checkpoint,
        actor=actor,
        data=gate_visitors.VisitInput(
            name=DESK_VISITOR,
            id_number=visitor_id,
            temperature="36.5",
            health_code="green",
            coming_from="本市",
            purpose="探望",
            itinerary_checked=True,
            host_household_id=c2.household.pk,
            host_person_id=c2.person.pk,
        ),
    )
    vehicle_pass = gate_visitors.vehicle_pass_create(household=c2.household, actor=actor, plate=DESK_PLATE)
    gate_visitors.vehicle_entry_record(checkpoint=checkpoint, actor=actor, plate=DESK_PLATE, direction="in")
    parcel = gate_visitors.parcel_log(
        checkpoint=checkpoint, actor=actor, household=c2.household, tracking=DESK_TRACKING
    ).parcel
    Parcel.objects.filter(pk=parcel.pk).update(pickup_code=DESK_PICKUP_CODE)
    sealed = registry_services.household_create(unit=c2.unit, room="B910", actor=actor)
    gate_services.hold_set(household=sealed, reason="sealed", actor=actor)
    contactless = gate_visitors.parcel_log(checkpoint=checkpoint, actor=actor, household=sealed).parcel
    assert visit.verdict == "allowed" and contactless.contactless
    c2.gate.update(exempt=exempt, visit=visit, vehicle_pass=vehicle_pass, parcel=parcel, contactless=contactless)
    c2.gate["markers"] = (
        *c2.gate.get("markers", ()),
        DESK_EXEMPT_NAME,
        DESK_EXEMPT_ORG,
        DESK_VISITOR,
        visitor_id,
        DESK_PLATE,
        DESK_TRACKING,
    )


# The health pages' C2 records (H1–H3): what each refused account must not see or change.
HEALTH_ORIGIN = "团结机密来源地"


def plant_health(c2: C2) -> None:
    """C2's person under home health monitoring since yesterday (due today, not reported), with a fever escalation."""
    from linli.health import rules as health_rules
    from linli.health import services as health_services
    from linli.health.choices import Category
    from linli.health.models import IsolationSite

    tree, actor = c2.personas.tree, c2.personas.outsider
    yesterday = timezone.now() - datetime.timedelta(days=1)
    # Home health monitoring holds no pass: the gate's controls still issue and scan C2's pass.
    registration = health_services.key_person_register(
        c2.person,
        category=Category.RETURNEE_MONITORING,
        origin=HEALTH_ORIGIN,
        arrived_on=timezone.localdate(yesterday),
        actor=actor,
        now=yesterday,
    )
    order = registration.order
    assert order is not None and not order.holds_pass
    escalation = health_services.escalation_open(c2.person, temperature=Decimal("38.5"), source="入户摸排", actor=actor)
    c2.health.update(
        order=order,
        task=order.tests.order_by("sequence").first(),
        escalation=escalation,
        # The street's tables are the street's, not C2's: a rule and a site to fill their edit pages with.
        rule=health_rules.rule_for(tree.street, Category.CLOSE_CONTACT),
        site=IsolationSite.objects.create(street=tree.street, name="街道集中隔离点", rooms=10),
        markers=(HEALTH_ORIGIN,),
    )


# The health API's C2 records (H1–H8): each targeted endpoint is filled with one, and C2's worker's
# control runs them in the schema's order (sign, extend, end; unseal, then seal again).
API_RETURNEE = "令狐接口隔离"
API_PATIENT = "公孙接口病例"
API_CASE = "公孙机密病例"
API_POINT = "团结接口疫点"
API_COMPANY = "团结接口物业"
API_ROOM = "B913"


def plant_health_api(c2: C2) -> None:
    """In a building of C2's own: a returnee whose 14 days end today (tests negative, so the control can
    sign), a confirmed case with an epidemic point, the unit sealed (tests negative, so it can be
    unsealed), a property emergency level, and a risk area of the street."""
    from linli.health import rules as health_rules
    from linli.health import services as health_services
    from linli.health.choices import Category

    tree, actor = c2.personas.tree, c2.personas.outsider
    today = timezone.localdate()
    building = registry_services.building_create(compound=tree.p3, name="团结接口楼", actor=actor)
    unit = registry_services.unit_create(building=building, name="1单元", actor=actor)
    household = registry_services.household_create(unit=unit, room=API_ROOM, actor=actor)
    returnee = registry_services.person_create(
        household=household,
        actor=actor,
        name=API_RETURNEE,
        id_number=make_id_number("19770707"),
        phone=make_phone(),
        relation=Relation.HOUSEHOLDER.value,
    )
    patient = registry_services.person_create(household=household, actor=actor, name=API_PATIENT)
    order = health_services.key_person_register(
        returnee, category=Category.MEDIUM_RISK_RETURNEE, arrived_on=today - datetime.timedelta(days=14), actor=actor
    ).order
    assert order is not None
    for task in order.tests.all():
        health_services.test_result_record(task, result="negative", actor=actor)
    case = health_services.case_record(
        community=tree.c2,
        person=patient,
        name=API_CASE,
        kind="confirmed",
        onset_date=today - datetime.timedelta(days=2),
        confirmed_on=today,
        source="known",
        actor=actor,
    )
    health_services.point_add(case, kind="office", place=API_POINT, visited_on=today, hours="2", actor=actor)
    seal = health_services.seal_create(level="unit", target=unit, actor=actor, case=case)
    for task in seal.tests.all():
        health_services.test_result_record(task, result="negative", actor=actor)
    assert not health_services.release_blockers(order) and not health_services.unseal_blockers(seal)
    c2.health["api"] = {
        "order": order,
        "task": order.tests.order_by("sequence").first(),
        "case": case,
        "seal": seal,
        "unit": unit,
        "building": building,
        "emergency": health_services.emergency_set(community=tree.c2, company=API_COMPANY, level=3, actor=actor),
        # The street's, not C2's: only the street command may end it (the control too is refused).
        "area": health_rules.risk_area_add(
            street=tree.street, county="团结接口县", name="某镇", level="high", starts_on=today, actor=actor
        ),
    }
    c2.health["markers"] = (
        *c2.health.get("markers", ()),
        API_RETURNEE,
        API_PATIENT,
        API_CASE,
        API_POINT,
        API_COMPANY,
        API_ROOM,
        returnee.phone,
        returnee.id_number or "",
    )


# Supplies (S1–S10): C2's own supplier and everything hanging off it (plant_supplies). The supplier and
# its catalogue belong to the street (every account of the street may be shown them), so their words
# are markers only for the other supplier's staff (SUPPLIER_MARKERS); the windows, orders, packages,
# drop-off point, money and notices belong to C2 and their words are markers for everyone.
SUPPLIER_NAME = "团结超市"
SUPPLIER_CONTACT = "团结店长诸葛"
SUPPLIER_ADDRESS = "团结路机密88号"
SUPPLY_ITEMS = ("团结秘制腊肉", "团结有机青菜", "团结秘制香肠")  # the third is not offered
SUPPLY_STAFF = "团结店员公孙"
SUPPLY_WINDOW_OPEN = "团结机密窗口乙"
SUPPLY_WINDOW_PAST = "团结机密窗口甲"
SUPPLY_WINDOW_DRAFT = "团结机密窗口丙"
SUPPLY_WINDOW_PACKED = "团结机密窗口丁"
SUPPLY_ORDER_NOTE = "团结订单机密备注"
SUPPLY_DROP_OFF = "团结秘密投放点"
SUPPLY_DROP_OFF_PLACE = "团结投放机密位置"
SUPPLY_NOTICE = "团结保供机密通知"
SUPPLY_SETTLEMENT = "团结结算机密"


def plant_supplies(c2: C2) -> None:
    """C2's supplier 团结超市 (serving C2 only) with two items, stock, price and a staff check; a past window,
    aggregated (two packages on a delivery run from C2's drop-off point, one handed over, a payment, a
    credit entry, a settlement, a notice) and a window open now with a proxy order of the planted household."""
    from linli.supplies.models import SupplyNotice, household_kwargs
    from linli.supplies.services import aggregation, catalogue, delivery, money, ordering, stock

    tree, actor = c2.personas.tree, c2.personas.outsider
    now = timezone.now()
    supplier = catalogue.supplier_create(
        street=tree.street,
        name=SUPPLIER_NAME,
        communities=[tree.c2],
        actor=actor,
        contact_name=SUPPLIER_CONTACT,
        contact_phone=make_phone(),
        address=SUPPLIER_ADDRESS,
    )
    items = [
        catalogue.item_create(
            supplier=supplier, name=name, category="vegetables", price="12.50", stock=500, actor=actor
        )
        for name in SUPPLY_ITEMS
    ]
    stock.stock_report(item=items[0], quantity=400, actor=actor)
    stock.price_report(item=items[0], price="12.50", actor=actor)
    staff_check = stock.staff_check_record(
        supplier=supplier, kind="temperature", staff_name=SUPPLY_STAFF, temperature="36.5", actor=actor
    )
    schedule = catalogue.schedule_create(supplier=supplier, community=tree.c2, order_weekdays=[1, 5], actor=actor)
    point = delivery.drop_off_create(
        compound=tree.p3, name=SUPPLY_DROP_OFF, location=SUPPLY_DROP_OFF_PLACE, actor=actor
    )

    def window(title: str, opens_at: datetime.datetime, cutoff_at: datetime.datetime) -> Any:
        made = catalogue.window_create(
            supplier=supplier,
            community=tree.c2,
            opens_at=opens_at,
            cutoff_at=cutoff_at,
            delivery_on=timezone.localdate(now) + datetime.timedelta(days=1),
            title=title,
            actor=actor,
            now=opens_at,
        )
        for item in items[:2]:
            catalogue.offer_add(made, item, 50, reserved=5, buckets=2)
        return catalogue.window_publish(made, actor=actor, now=opens_at)

    past = window(SUPPLY_WINDOW_PAST, now - datetime.timedelta(days=2), now - datetime.timedelta(days=1))
    placed_at = now - datetime.timedelta(days=1, hours=12)
    offers = list(past.offers.order_by("pk"))
    past_orders = [
        ordering.place_order(
            window=past,
            household=household,
            lines=[(offers[0].pk, 2), (offers[1].pk, 1)],
            actor=actor,
            note=SUPPLY_ORDER_NOTE,
            now=placed_at,
        )
        for household in (c2.household, c2.plain_household)
    ]
    purchase = aggregation.aggregate(past, actor=actor, now=now)
    # a second past window, aggregated and not yet delivered: its shortfall can still be allocated
    packed = window(SUPPLY_WINDOW_PACKED, now - datetime.timedelta(days=3), now - datetime.timedelta(days=2))
    ordering.place_order(
        window=packed,
        household=c2.household,
        lines=[(packed.offers.order_by("pk")[0].pk, 3)],
        actor=actor,
        note=SUPPLY_ORDER_NOTE,
        now=placed_at - datetime.timedelta(days=1),
    )
    packed_purchase = aggregation.aggregate(packed, actor=actor, now=now)
    run = delivery.run_create(window=past, drop_off=point, volunteer=actor, actor=actor)
    packages = [order.package for order in past_orders]
    assert all(package.run_id == run.pk for package in packages), [p.drop_off_id for p in packages]
    delivered = delivery.handover(packages[1].handover_code, actor=actor, contactless=False)
    payment = money.payment_collect(past_orders[0], mode="prepaid", amount="1.00", actor=actor)
    credit = money.credit_record(past_orders[1], amount="1.00", actor=actor)
    settlement = money.supplier_settle(past, amount="1.00", note=SUPPLY_SETTLEMENT, actor=actor)
    notice = SupplyNotice.objects.create(**household_kwargs(c2.household), order=past_orders[0], text=SUPPLY_NOTICE)
    current = window(SUPPLY_WINDOW_OPEN, now - datetime.timedelta(hours=1), now + datetime.timedelta(hours=12))
    open_offers = list(current.offers.order_by("pk"))
    order = ordering.place_order(
        window=current,
        household=c2.household,
        lines=[(open_offers[0].pk, 1)],
        actor=actor,
        note=SUPPLY_ORDER_NOTE,
    )
    assert order.is_proxy
    # paid in advance: once the control has cancelled it, the API's refund has something to give back
    money.payment_collect(order, mode="prepaid", amount="1.00", actor=actor)
    draft = catalogue.window_create(
        supplier=supplier,
        community=tree.c2,
        opens_at=now + datetime.timedelta(days=1),
        cutoff_at=now + datetime.timedelta(days=2),
        delivery_on=timezone.localdate(now) + datetime.timedelta(days=3),
        title=SUPPLY_WINDOW_DRAFT,
        actor=actor,
    )
    catalogue.offer_add(draft, items[0], 10)
    past.refresh_from_db()
    c2.supplies.update(
        supplier=supplier,
        items=items,
        item=items[0],
        staff_check=staff_check,
        schedule=schedule,
        drop_off=point,
        past=past,
        window=current,
        draft=draft,
        offer=open_offers[0],
        offers=open_offers,
        order=order,
        past_orders=past_orders,
        purchase=purchase,
        packed=packed,
        packed_purchase=packed_purchase,
        run=run,
        package=packages[0],  # on the run, not yet handed over
        delivered=delivered,  # the plain household's, handed over
        payment=payment,
        credit=credit,
        settlement=settlement,
        notice=notice,
    )
    c2.supplies["supplier_markers"] = (
        SUPPLIER_NAME,
        SUPPLIER_CONTACT,
        SUPPLIER_ADDRESS,
        supplier.contact_phone,
        *SUPPLY_ITEMS,
        SUPPLY_STAFF,
    )
    c2.supplies["markers"] = (
        SUPPLY_WINDOW_OPEN,
        SUPPLY_WINDOW_PAST,
        SUPPLY_WINDOW_DRAFT,
        SUPPLY_WINDOW_PACKED,
        SUPPLY_ORDER_NOTE,
        SUPPLY_DROP_OFF,
        SUPPLY_DROP_OFF_PLACE,
        SUPPLY_NOTICE,
        SUPPLY_SETTLEMENT,
        *(package.handover_code for package in packages),
    )


# The control pages' C2 records (H5–H8), planted on first use by c2_control().
CONTROL_CASE = "司徒病例"
CONTROL_CLUSTER = "团结机密聚集"
CONTROL_POINT = "团结机密疫点"
CONTROL_SEAL_REASON = "团结机密封控"
CONTROL_COMPANY = "团结机密物业"


def c2_control(c2: C2) -> dict[str, Any]:
    """C2's case (C2's person, with a close contact and an epidemic point), a sealed household and a
    property emergency, made by C2's own worker the first time a page entry asks; their words are markers."""
    if "control" in c2.health:
        return c2.health["control"]
    from linli.health import services as health_services

    tree, actor = c2.personas.tree, c2.personas.outsider
    today = timezone.localdate()
    case = health_services.case_record(
        community=tree.c2,
        person=c2.person,
        name=CONTROL_CASE,
        kind="confirmed",
        onset_date=today - datetime.timedelta(days=2),
        confirmed_on=today,
        source="unknown",
        cluster=CONTROL_CLUSTER,
        actor=actor,
    )
    contact = health_services.contact_add(
        case, person=c2.plain_household.members.order_by("pk")[0], kind="home", actor=actor
    )
    health_services.point_add(case, kind="office", place=CONTROL_POINT, visited_on=today, hours="3", actor=actor)
    # A household of its own, sealed: the unit's seal is left to the control's "确认封控" (seal_confirm).
    sealed = registry_services.household_create(unit=c2.unit, room="B911", actor=actor)
    registry_services.person_create(household=sealed, actor=actor, name="团结封控户", relation="householder")
    seal = health_services.seal_create(
        level="household", target=sealed, actor=actor, case=case, reason=CONTROL_SEAL_REASON
    )
    emergency = health_services.emergency_set(community=tree.c2, company=CONTROL_COMPANY, level=3, actor=actor)
    found = {
        "case": case,
        "contact": contact,
        "seal": seal,
        "task": seal.tests.order_by("pk").first(),
        "emergency": emergency,
    }
    c2.health["control"] = found
    c2.markers = (
        *c2.markers,
        CONTROL_CASE,
        CONTROL_CLUSTER,
        CONTROL_POINT,
        CONTROL_SEAL_REASON,
        CONTROL_COMPANY,
        reverse("health:case", kwargs={"pk": case.pk}),
        reverse("health:seal", kwargs={"pk": seal.pk}),
        reverse("health:emergency", kwargs={"pk": emergency.pk}),
    )
    return found


def c2_control_list(control: str) -> Callable[[C2], list[Case]]:
    """A list of the control pages, with C2's control records planted first."""

    def cases(c2: C2) -> list[Case]:
        c2_control(c2)
        return [Case(targets_c2=False, control=control)]

    return cases


def desk_visit_post() -> dict[str, Any]:
    return {
        "action": "save",
        "name": "篡改访客",
        "id_number": make_id_number(),
        "temperature": "36.5",
        "health_code": "green",
        "coming_from": "篡改",
        "itinerary_checked": "on",
        "purpose": "篡改",
        "room": ROOM,
    }


# --- reading responses ------------------------------------------------------------------------------


def body_text(response: HttpResponseBase) -> str:
    """The text a person could read in a response: HTML, JSON (unescaped) or every part of an .xlsx."""
    # Reading a streamed response to its end closes it (the test client wraps it); closing it again
    # here would fire request_finished and close the test's database connection on PostgreSQL.
    content = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as workbook:
            return "\n".join(workbook.read(name).decode("utf-8", "replace") for name in workbook.namelist())
    text = content.decode("utf-8", "replace")
    if response.get("Content-Type", "").startswith("application/json"):
        # ninja escapes non-ASCII (\\u56e2…): compare the decoded text.
        return json.dumps(json.loads(text), ensure_ascii=False)
    return text


# JSON keys that always name one kind of record.
ID_KEYS = {
    "household_id": "household",
    "person_id": "person",
    "compound_id": "compound",
    "community_id": "community",
    # supplies (only supplies' JSON uses these keys)
    "window_id": "supply_window",
    "package_id": "supply_package",
    "drop_off_id": "drop_off",
    "run_id": "delivery_run",
}
# The street's supplier and catalogue: only another supplier's staff must not see their ids (or words).
SUPPLIER_ID_KEYS = {"supplier_id": "supplier", "item_id": "supply_item"}
SUPPLIER_ONLY_KINDS = frozenset(SUPPLIER_ID_KEYS.values())


def supplies_querysets(c2: int) -> dict[str, models.QuerySet[Any]]:
    """C2's supplies records by kind (``ids``): its windows, orders, packages, …; and 团结超市, which serves C2 only."""
    from linli.supplies import models as supplies

    return {
        "supplier": supplies.Supplier.objects.filter(communities=c2),
        "supply_item": supplies.Item.objects.filter(supplier__communities=c2),
        "supply_window": supplies.OrderWindow.objects.filter(community_id=c2),
        "supply_offer": supplies.Offer.objects.filter(window__community_id=c2),
        "supply_order": supplies.Order.objects.filter(community_id=c2),
        "supply_package": supplies.Package.objects.filter(community_id=c2),
        "drop_off": supplies.DropOffPoint.objects.filter(community_id=c2),
        "delivery_run": supplies.DeliveryRun.objects.filter(community_id=c2),
        "supply_payment": supplies.Payment.objects.filter(community_id=c2),
        "supply_credit": supplies.CreditEntry.objects.filter(community_id=c2),
        "supply_settlement": supplies.SupplierSettlement.objects.filter(window__community_id=c2),
        "supply_notice": supplies.SupplyNotice.objects.filter(community_id=c2),
        "purchase": supplies.PurchaseOrder.objects.filter(window__community_id=c2),
        "supply_schedule": supplies.WindowSchedule.objects.filter(community_id=c2),
    }


def ids_in(data: Any, key_kinds: dict[str, str]) -> Iterator[tuple[str, str, int]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in key_kinds and isinstance(value, int):
                yield key, key_kinds[key], value
            yield from ids_in(value, key_kinds)
    elif isinstance(data, list):
        for item in data:
            yield from ids_in(item, key_kinds)


def leaks(
    c2: C2, text: str, *, path: str = "", sent: tuple[str, ...] = (), id_kind: str = "", persona: str = ""
) -> list[str]:
    """What of C2 a body shows: markers, and (in JSON) ids of C2 records.

    ``path`` is the URL asked for (the page repeats it in its language form), ``sent`` what the request
    itself carried (an upload may echo its own cells), ``id_kind`` the kind of record a JSON list's "id" is.
    ``persona`` "supplier" (平价超市's staff) is also shown nothing of 团结超市, the street's other supplier.
    """
    supplier = persona == "supplier"
    markers = (*c2.markers, *c2.supplies.get("supplier_markers", ())) if supplier else c2.markers
    found = [f"«{marker}»" for marker in markers if marker and marker != path and marker not in sent and marker in text]
    if id_kind in SUPPLIER_ONLY_KINDS and not supplier:
        id_kind = ""
    if text[:1] in "[{":
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        key_kinds = {**ID_KEYS, **(SUPPLIER_ID_KEYS if supplier else {}), **({"id": id_kind} if id_kind else {})}
        c2_ids: dict[str, set[int]] = {}
        for key, kind, value in ids_in(data, key_kinds):
            if kind not in c2_ids:
                c2_ids[kind] = c2.ids(kind)
            if value in c2_ids[kind]:
                found.append(f"{key}={value} ({kind} of C2)")
    return sorted(set(found))


# --- nothing written --------------------------------------------------------------------------------

COUNTED: tuple[type[models.Model], ...] = (
    Street,
    Community,
    Grid,
    Compound,
    Building,
    Unit,
    Household,
    Person,
    TravelRecord,
    SurveyVisit,
    ResponsibilityChain,
    CoverSlot,
    ManagingUnit,
    WorkingGroup,
    GroupMember,
)
C2_ROWS: tuple[type[models.Model], ...] = (
    *COUNTED[2:],
    ExemptPass,
    Visit,
    VehiclePass,
    VehicleEntry,
    Parcel,
    ImportJob,
    SmsMessage,
    Checkpoint,
    GateRules,
    Shift,
    DutyAssignment,
    GateAlert,
    QuotaViolation,
    health_models.KeyPerson,
    health_models.QuarantineOrder,
    health_models.TestTask,
    health_models.Monitoring,
    health_models.TemperatureReport,
    health_models.FeverEscalation,
    health_models.Case,
    health_models.CloseContact,
    health_models.EpidemicPoint,
    health_models.StatusRecord,
    health_models.Seal,
    health_models.SealedHousehold,
    health_models.PropertyEmergency,
)


def state(c2: C2) -> dict[str, Any]:
    """Row counts, and every C2 row in full: equal before and after means nothing was written.

    The sweep reads this twice per URL (~700 times), so the queries are compiled once per sweep
    (``state_queries``) and run raw: all the counts in one statement, then one statement per table
    of C2 rows, compared as the database returns them (stricter than comparing converted values).
    """
    if c2.state_sql is None:
        c2.state_sql = compile_state(state_queries(c2))
    counts_sql, counts_params, count_keys, row_queries = c2.state_sql
    current: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute(counts_sql, counts_params)
        current.update(zip(count_keys, cursor.fetchone(), strict=True))
        for key, sql, params in row_queries:
            cursor.execute(sql, params)
            current[key] = cursor.fetchall()
    return current


def state_queries(c2: C2) -> list[tuple[str, str, models.QuerySet[Any]]]:
    """What ``state`` reads: (key, "count" or "rows", queryset)."""
    queries: list[tuple[str, str, models.QuerySet[Any]]] = [
        (model._meta.label, "count", model._default_manager.all()) for model in COUNTED
    ]
    # The only write a refused account may make is the audit event of exporting its own roster.
    queries.append(("audit events (not exports)", "count", AuditEvent.objects.exclude(action=AuditAction.EXPORT)))
    queries.append(("audit events about C2", "count", AuditEvent.objects.filter(community_id=c2.community.pk)))
    for model in C2_ROWS:
        lookup = model.SCOPE_LOOKUPS["community"]  # type: ignore[attr-defined]
        rows = model._default_manager.filter(**{lookup: c2.community.pk}).order_by("pk").values()
        queries.append((f"C2 rows of {model._meta.label}", "rows", rows))
    tokens = ApiToken.objects.filter(user=c2.personas.outsider).order_by("pk").values("pk", "revoked_at")
    queries.append(("C2 API tokens", "rows", tokens))
    queries += supplies_state_queries(c2)
    return queries


def supplies_state_queries(c2: C2) -> list[tuple[str, str, models.QuerySet[Any]]]:
    """Supplies: every table's row count, C2's rows in full, and 团结超市's (the street's) rows in full."""
    from linli.supplies import models as supplies

    queries: list[tuple[str, str, models.QuerySet[Any]]] = []
    for model in apps.get_app_config("supplies").get_models():
        if model is supplies.IdempotencyKey:
            continue  # a refusal is remembered for its own account's key: not a write of anything
        queries.append((model._meta.label, "count", model._default_manager.all()))
        lookups = getattr(model, "SCOPE_LOOKUPS", {})
        supplier_lookup = getattr(model, "SUPPLIER_LOOKUP", None)
        if "community" in lookups:
            rows = model._default_manager.filter(**{lookups["community"]: c2.community.pk})
        elif supplier_lookup:
            rows = model._default_manager.filter(**{supplier_lookup: c2.supplies["supplier"].pk})
        elif model is supplies.OfferBucket:
            rows = model._default_manager.filter(offer__window__community_id=c2.community.pk)
        else:  # the street's settings: counted only
            continue
        queries.append((f"C2 rows of {model._meta.label}", "rows", rows.order_by("pk").values()))
    for through in (supplies.Supplier.communities.through, supplies.DropOffPoint.buildings.through):
        queries.append((f"rows of {through._meta.label}", "rows", through.objects.order_by("pk").values()))
    return queries


StateSql = tuple[str, tuple[Any, ...], list[str], list[tuple[str, str, tuple[Any, ...]]]]


def compile_state(queries: list[tuple[str, str, models.QuerySet[Any]]]) -> StateSql:
    """One statement of every count (scalar subqueries), and each table's rows as its own SQL."""
    counts: list[str] = []
    counts_params: list[Any] = []
    count_keys: list[str] = []
    row_queries: list[tuple[str, str, tuple[Any, ...]]] = []
    for key, kind, queryset in queries:
        if kind == "count":
            sql, params = queryset.order_by().values("pk").query.sql_with_params()
            counts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted_{len(counts)})")
            counts_params += params
            count_keys.append(key)
        else:
            sql, params = queryset.query.sql_with_params()
            row_queries.append((key, sql, tuple(params)))
    return f"SELECT {', '.join(counts)}", tuple(counts_params), count_keys, row_queries


def changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in before if before[key] != after[key]]


# --- pages ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One URL of a page to sweep.

    ``targets_c2``: the URL names a C2 object, so every refused account must be refused; otherwise it
    is a list, which may answer but must show nothing of C2. ``posts``: plausible bodies sent as well
    as the empty one, so that the scope check — not form validation — is what stops the write.
    ``control``: how C2's own worker proves the URL works — "get" / "post" (not 403/404/405),
    "shows" (the body shows a marker), "" (nothing to prove: see the reason in the table).
    """

    kwargs: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    targets_c2: bool = True
    posts: tuple[dict[str, Any], ...] = ()
    control: str = "get"
    # Refused accounts that may read the targeted URL (it answers, still showing nothing of C2, and a POST
    # writes nothing): a record of the street (a supplier, its catalogue) that all its staff read.
    readers: tuple[str, ...] = ()


def person_form(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "relation": Relation.OTHER.value,
        "residency": Residency.RESIDENT.value,
        "health_code": HealthCode.GREEN.value,
    }


def chain_form() -> dict[str, Any]:
    return {
        "action": "chain",
        "street_leader": "篡改甲",
        "street_leader_phone": make_phone(),
        "community_leader": "篡改乙",
        "community_leader_phone": make_phone(),
        "responsible": "篡改丙",
        "responsible_phone": make_phone(),
    }


def list_case(control: str = "") -> Callable[[C2], list[Case]]:
    return lambda c2: [Case(targets_c2=False, control=control)]


def c2_checkpoint(c2: C2) -> int:
    """The id of a checkpoint of C2's compound, made by C2's own worker on first use."""
    from linli.gate import services as gate_services
    from linli.gate.models import Checkpoint

    found = Checkpoint.objects.filter(compound=c2.compound).first()
    return (
        found or gate_services.checkpoint_create(compound=c2.compound, name="团结北门", actor=c2.personas.outsider)
    ).pk


def gate_index_cases(c2: C2) -> list[Case]:
    c2_checkpoint(c2)  # the outsider's list shows it (团结新村 · 团结北门): the control
    return [Case(targets_c2=False, control="shows")]


# URL name -> the URLs to sweep, filled with C2's objects. A page without an entry fails the sweep.
PAGES: dict[str, Callable[[C2], list[Case]]] = {
    "home": list_case(),  # the outsider's summary is in numbers: no marker to show
    "accounts:outbox": list_case("shows"),
    "accounts:tokens": list_case("shows"),  # one's own tokens only: the outsider's token name
    "accounts:token_revoke": lambda c2: [Case({"pk": c2.token.pk}, control="post")],  # POST only
    "registry:tree": list_case(),  # redirects to the account's own node (followed)
    "registry:node": lambda c2: [Case({"level": level, "pk": node.pk}) for level, node in c2.nodes()],
    "registry:search": lambda c2: [
        Case(query={"q": q}, targets_c2=False, control="shows")
        for q in (PERSON_NAME, c2.person.phone, c2.person.phone[-4:], c2.person.id_number, "101")
    ],
    "registry:household": lambda c2: [Case({"pk": c2.household.pk}), Case({"pk": c2.plain_household.pk})],
    "registry:household_edit": lambda c2: [
        Case({"pk": c2.household.pk}, posts=({"is_rented": "on", "landlord_name": "篡改", "note": "篡改"},))
    ],
    "registry:person_add": lambda c2: [Case({"pk": c2.household.pk}, posts=(person_form("篡改新人"),))],
    "registry:travel_add": lambda c2: [
        Case({"pk": c2.household.pk}, posts=({"person": c2.person.pk, "date": "2024-05-01", "place": "篡改"},))
    ],
    "registry:person_edit": lambda c2: [Case({"pk": c2.person.pk}, posts=(person_form("篡改姓名"),))],
    "registry:person_delete": lambda c2: [Case({"pk": c2.person.pk})],
    "registry:person_reveal": lambda c2: [
        Case({"pk": c2.person.pk, "field": name}, control="post") for name in ("phone", "id_number")
    ],
    "survey:progress": lambda c2: [
        Case(targets_c2=False, control="shows"),
        *(Case(query={"level": level, "id": node.pk}) for level, node in c2.nodes()[:4]),
    ],
    "survey:visit_create": lambda c2: [
        Case(
            {"pk": c2.household.pk},
            posts=(
                {
                    "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                    "anyone_home": "1",
                    "people_home": [c2.person.pk],
                    "members_confirmed": "on",
                    "note": "篡改",
                },
            ),
        )
    ],
    "org:index": list_case("shows"),
    "org:compound_edit": lambda c2: [
        Case(
            {"pk": c2.compound.pk},
            posts=(
                chain_form(),
                {
                    "action": "slot_add",
                    "slot-name": "篡改",
                    "slot-kind": "cadre",
                    "slot-phone": make_phone(),
                    "slot-starts": "08:00",
                    "slot-ends": "12:00",
                },
                {"action": "slot_remove", "slot": c2.slot.pk},
                {"action": "unit_add", "unit-name": "篡改单位", "unit-buildings": "1"},
                {"action": "unit_remove", "unit": c2.manager.pk},
            ),
        )
    ],
    "org:notice_pdf": lambda c2: [Case({"pk": c2.compound.pk})],
    "org:groups": list_case("shows"),
    "org:group_create": list_case(),  # a blank form: nothing of anyone's
    # POST only; the community is posted, not in the URL.
    "org:groups_seed": lambda c2: [Case(posts=({"community": c2.community.pk},), control="post")],
    "org:group_edit": lambda c2: [
        Case(
            {"pk": c2.group.pk},
            posts=(
                {"action": "group", "kind": "liaison", "name": "篡改组", "duties": "篡改"},
                {"action": "member_add", "member-name": "篡改", "member-phone": make_phone()},
                {"action": "member_remove", "member": c2.member.pk},
            ),
        )
    ],
    "org:group_delete": lambda c2: [Case({"pk": c2.group.pk})],
    "rosters:index": list_case("shows"),
    "rosters:template": list_case("shows"),  # the example row names the account's own community
    "rosters:export": lambda c2: [
        Case(targets_c2=False, control="shows"),
        *(Case(query={"node": f"{level}:{node.pk}"}) for level, node in c2.nodes()),
    ],
    "rosters:job": lambda c2: [Case({"pk": c2.job.pk})],
    "rosters:job_status": lambda c2: [Case({"pk": c2.job.pk})],
    "rosters:job_bad_rows": lambda c2: [Case({"pk": c2.job.pk})],
    "audit:index": list_case("shows"),
    "gate:index": gate_index_cases,
    "gate:exempt_list": list_case("shows"),
    "gate:exempt_create": lambda c2: [
        Case(
            {"pk": c2.compound.pk},
            posts=(
                {"kind": "worker", "name": "篡改", "organisation": "篡改", "proof": "1", "valid_until": "2099-01-01"},
            ),
        )
    ],
    "gate:exempt_detail": lambda c2: [Case({"pk": c2.gate["exempt"].pk})],
    "gate:exempt_card": lambda c2: [Case({"pk": c2.gate["exempt"].pk})],
    "gate:exempt_revoke": lambda c2: [Case({"pk": c2.gate["exempt"].pk}, control="post")],  # POST only
    "gate:visits": lambda c2: [Case({"pk": c2.gate["checkpoint"].pk})],
    "gate:visit_create": lambda c2: [
        Case({"pk": c2.gate["checkpoint"].pk}, posts=({**desk_visit_post(), "host_person": c2.person.pk},))
    ],
    "gate:visit_hosts": lambda c2: [Case({"pk": c2.gate["checkpoint"].pk}, query={"room": ROOM})],
    "gate:visit_checkout": lambda c2: [Case({"pk": c2.gate["visit"].pk}, control="post")],  # POST only
    "gate:visit_reveal": lambda c2: [Case({"pk": c2.gate["visit"].pk}, control="post")],  # POST only
    "gate:vehicles": lambda c2: [
        Case({"pk": c2.gate["checkpoint"].pk}, posts=({"plate": DESK_PLATE, "direction": "out"},))
    ],
    "gate:vehicle_passes": lambda c2: [
        Case(targets_c2=False, control="shows"),
        Case(query={"compound": c2.compound.pk, "room": ROOM}, targets_c2=False, control="shows"),
    ],
    "gate:vehicle_pass_create": lambda c2: [Case({"pk": c2.household.pk}, posts=({"plate": "沪C3C3C3"},))],
    "gate:vehicle_pass_revoke": lambda c2: [Case({"pk": c2.gate["vehicle_pass"].pk}, control="post")],  # POST only
    "gate:parcels": lambda c2: [Case({"pk": c2.gate["checkpoint"].pk}, posts=({"code": DESK_PICKUP_CODE},))],
    "gate:parcel_create": lambda c2: [
        Case(
            {"pk": c2.gate["checkpoint"].pk},
            posts=({"action": "save", "room": ROOM, "household": c2.household.pk, "carrier": "篡改"},),
        )
    ],
    "gate:parcel_delivered": lambda c2: [Case({"pk": c2.gate["contactless"].pk}, control="post")],  # POST only
    "gate:checkpoint": lambda c2: [Case({"pk": c2_checkpoint(c2)})],
    "gate:rules_index": list_case("shows"),
    "gate:rules": lambda c2: [Case({"pk": c2.compound.pk}, posts=(rules_form_post(),))],
    "gate:checkpoint_admin": lambda c2: [
        Case(
            {"pk": c2.compound.pk},
            posts=(
                {"action": "create", "new-name": "篡改卡口"},
                {"action": "rename", "checkpoint": c2.gate["checkpoint"].pk, "name": "篡改"},
                {"action": "deactivate", "checkpoint": c2.gate["checkpoint"].pk},
            ),
        )
    ],
    "gate:duty": lambda c2: [
        Case(
            {"pk": c2.gate["checkpoint"].pk},
            posts=(
                {
                    "action": "assign",
                    "assign-shift": c2.gate["shift"].pk,
                    "assign-date": c2.gate["assignment"].date.isoformat(),
                    "assign-volunteer_name": "篡改",
                    "assign-volunteer_phone": make_phone(),
                },
                {"action": "unassign", "assignment": c2.gate["assignment"].pk},
                {
                    "action": "shift_add",
                    "shift-name": "篡改",
                    "shift-starts": "01:00",
                    "shift-ends": "02:00",
                    "shift-min_staff": "1",
                },
                {"action": "shift_delete", "shift": c2.gate["shift"].pk},
            ),
        )
    ],
    "gate:duty_mine": list_case("get"),  # one's own shifts only; the outsider has none planted
    # POST only; a volunteer's shift: C2's worker is told it is not theirs (a redirect with the reason).
    "gate:duty_sign": lambda c2: [Case({"pk": c2.gate["assignment"].pk}, posts=({"action": "in"},), control="post")],
    "gate:live_index": list_case("shows"),
    "gate:live": lambda c2: [Case({"pk": c2.compound.pk})],
    "gate:live_panel": lambda c2: [Case({"pk": c2.compound.pk})],
    "gate:alert_ack": lambda c2: [Case({"pk": c2.gate["alert"].pk}, control="post")],  # POST only
    "gate:violation_ack": lambda c2: [Case({"pk": c2.gate["violation"].pk}, control="post")],  # POST only
    "gate:board": lambda c2: [Case({"pk": c2.compound.pk})],
    "gate:board_pdf": lambda c2: [Case({"pk": c2.compound.pk})],
    "gate:passes": list_case("shows"),  # the outsider's compounds: 团结新村
    "gate:household_pass": lambda c2: [
        Case(
            {"pk": household.pk},
            posts=(
                {"action": "issue", "members": [c2.person.pk]},
                {"action": "revoke", "reason": "篡改"},
                {"action": "hold_set", "reason": "sealed", "note": "篡改"},
                {"action": "hold_release", "reason": ""},
            ),
        )
        for household in (c2.household, c2.plain_household)
    ],
    "gate:compound_passes": lambda c2: [
        Case({"pk": c2.compound.pk}, posts=({"action": "issue_missing"},)),
        Case({"pk": c2.compound.pk}, query={"building": c2.household.building_id, "show": "valid"}),
    ],
    "gate:cards_pdf": lambda c2: [
        Case({"pk": c2.compound.pk}),
        Case({"pk": c2.compound.pk}, query={"household": c2.household.pk}),
    ],
    "gate:tickets": lambda c2: [Case({"pk": c2.compound.pk}, posts=({"action": "issue"},))],
    "gate:tickets_pdf": lambda c2: [Case({"pk": c2.compound.pk})],
    "gate:my_pass": list_case(),  # a resident's own household only; staff are refused
    # The health monitoring pages: C2's key person, order and escalation (plant_health).
    "health:index": list_case("get"),  # numbers only: no marker to show
    "health:key_persons": list_case("shows"),
    "health:register": lambda c2: [
        Case(targets_c2=False, posts=({"person": c2.person.pk, "category": "close_contact"},), control="get"),
        Case(query={"q": PERSON_NAME}, targets_c2=False, control="shows"),  # the outsider finds room B909
    ],
    "health:person_report": lambda c2: [Case({"pk": c2.person.pk}, posts=({"temperature": "36.5", "slot": "1"},))],
    "health:order": lambda c2: [
        Case(
            {"pk": c2.health["order"].pk},
            posts=(
                {"action": "report", "temperature": "36.5"},
                {"action": "test_result", "task": c2.health["task"].pk, "result": "negative"},
                {"action": "test_add", "due_on": timezone.localdate().isoformat()},
                {"action": "extend", "days": "3", "reason": "篡改"},
                {"action": "end", "status": "cancelled", "note": "篡改"},
                {"action": "sign"},
            ),
        )
    ],
    "health:order_notice": lambda c2: [Case({"pk": c2.health["order"].pk})],
    "health:me": list_case(),  # a resident's own household only; staff (the control too) are refused
    "health:chase": list_case("shows"),
    "health:summary": list_case("shows"),  # the outsider's row: 团结社区
    "health:escalations": list_case("shows"),
    "health:escalation": lambda c2: [
        Case({"pk": c2.health["escalation"].pk}, posts=({"step": "community_notified", "note": "篡改"},))
    ],
    # The street's tables: read by all health staff, edited by the street command only, so C2's worker is
    # refused the edit pages too (control "").
    "health:tables": list_case("get"),
    "health:rule_edit": lambda c2: [
        Case(
            {"pk": c2.health["rule"].pk},
            posts=({"days": "1", "place": "home", "test_days": "1", "reports_per_day": "2"},),
            control="",
        )
    ],
    "health:risk_areas": lambda c2: [
        Case(
            targets_c2=False,
            posts=({"action": "add", "county": "篡改县", "name": "篡改", "level": "high", "starts_on": "2026-01-01"},),
            control="get",
        )
    ],
    "health:settings": list_case("get"),
    "health:sites": lambda c2: [Case(targets_c2=False, posts=({"name": "篡改隔离点", "rooms": "1"},), control="get")],
    "health:site_edit": lambda c2: [
        Case({"pk": c2.health["site"].pk}, posts=({"name": "篡改", "rooms": "1"},), control="")
    ],
    # The control pages: C2's case, seal and property emergency (c2_control).
    "health:cases": lambda c2: [
        *c2_control_list("shows")(c2),
        Case(query={"community": c2.community.pk}),
    ],
    "health:case_create": lambda c2: [
        Case(
            targets_c2=False,
            query={"q": PERSON_NAME},
            posts=(
                {
                    "community": c2.community.pk,
                    "person": c2.person.pk,
                    "name": "篡改病例",
                    "kind": "confirmed",
                    "confirmed_on": timezone.localdate().isoformat(),
                    "source": "known",
                },
            ),
            control="shows",  # the search finds C2's person for C2's worker
        )
    ],
    "health:case": lambda c2: [
        Case(
            {"pk": c2_control(c2)["case"].pk},
            posts=(
                {
                    "action": "contact",
                    "contact-person": c2.plain_household.members.order_by("-pk")[0].pk,
                    "contact-kind": "home",
                },
                {
                    "action": "point",
                    "point-kind": "office",
                    "point-place": "篡改",
                    "point-visited_on": timezone.localdate().isoformat(),
                    "point-hours": "2",
                },
            ),
        )
    ],
    "health:status": c2_control_list("shows"),  # the outsider's row: 团结社区, its case
    "health:status_community": lambda c2: [Case({"pk": c2.community.pk})],
    "health:graph": lambda c2: [
        Case(targets_c2=False, control="shows"),  # the account's first community: C2's case for the outsider
        Case(query={"community": c2.community.pk}),
        Case(query={"case": c2_control(c2)["case"].pk}),
    ],
    "health:seals": c2_control_list("shows"),  # the suggestion from C2's case, C2's seal
    # POST only: C2's worker confirms the suggested seal of C2's unit (the control, after every refusal).
    "health:seal_confirm": lambda c2: [
        Case(posts=({"community": c2.community.pk, "level": "unit", "target": c2.unit.pk},), control="post")
    ],
    "health:seal_create": lambda c2: [
        Case(
            targets_c2=False,
            query={"compound": c2.compound.pk, "building": c2.household.building_id, "unit": c2.unit.pk},
            posts=(
                {
                    "level": "household",
                    "compound": c2.compound.pk,
                    "building": c2.household.building_id,
                    "unit": c2.unit.pk,
                    "household": c2.plain_household.pk,
                },
            ),
            control="shows",  # C2's worker is offered C2's compound and households
        )
    ],
    "health:seal": lambda c2: [
        Case(
            {"pk": c2_control(c2)["seal"].pk},
            posts=(
                {"action": "test_result", "task": c2_control(c2)["task"].pk, "result": "negative"},
                {"action": "unseal", "cond_tested": "on", "cond_no_new_case": "on", "cond_disinfected": "on"},
            ),
        )
    ],
    "health:emergencies": lambda c2: [
        Case(
            targets_c2=False,
            posts=({"community": c2.community.pk, "company": "篡改物业", "level": "1"},),
            control="shows",
        )
    ],
    "health:emergency": lambda c2: [
        Case({"pk": c2_control(c2)["emergency"].pk}, posts=({"item": "l3_meeting", "done": "on"},))
    ],
}


# --- supplies pages (S1–S10): filled with plant_supplies()'s records --------------------------------


def supply_order_post(c2: C2, **extra: Any) -> dict[str, Any]:
    """The order form of C2's open window: one of each offer (a fresh idempotency key)."""
    return {
        "key": uuid.uuid4().hex,
        "window": c2.supplies["window"].pk,
        "payment_mode": "on_delivery",
        "note": "篡改",
        **{f"q{offer.pk}": "1" for offer in c2.supplies["offers"]},
        **extra,
    }


def supply_window_post(c2: C2) -> dict[str, Any]:
    """A new window of 团结超市 for C2, open from now."""
    now = timezone.localtime()
    return {
        "supplier": c2.supplies["supplier"].pk,
        "community": c2.community.pk,
        "title": "篡改窗口",
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "cutoff_at": (now + datetime.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"),
        "delivery_on": (now + datetime.timedelta(days=2)).date().isoformat(),
    }


def supply_window_posts(c2: C2) -> tuple[dict[str, Any], ...]:
    offer = c2.supplies["offer"]
    return (
        {"action": "offer", "item": c2.supplies["items"][2].pk, "quantity": "9", "buckets": "1"},
        {"action": "quantity", "offer": offer.pk, f"o{offer.pk}-quantity": "1"},
        {"action": "remove", "offer": offer.pk},
        {"action": "publish"},
    )


# The street's supplier 团结超市 (and its catalogue and reports) is read by the street's staff of the
# supplies back office (C1's community worker and grid worker too), changed by none of the refused accounts.
SUPPLIER_READERS = ("community_worker", "grid_worker")
CATALOGUE_READERS = ("community_worker",)  # the stock pages: CATALOGUE_ROLES


SUPPLIES_PAGES: dict[str, Callable[[C2], list[Case]]] = {
    "supplies:index": list_case("shows"),  # the open windows in scope: C2's for the outsider
    "supplies:suppliers": list_case("get"),  # the street's suppliers: no C2 marker of their own
    # the street command's (the control too is refused)
    "supplies:supplier_create": lambda c2: [
        Case(targets_c2=False, posts=({"name": "篡改商超", "communities": [c2.community.pk]},), control="")
    ],
    "supplies:supplier": lambda c2: [Case({"pk": c2.supplies["supplier"].pk}, readers=SUPPLIER_READERS)],
    "supplies:supplier_edit": lambda c2: [
        Case(
            {"pk": c2.supplies["supplier"].pk},
            posts=(
                {"action": "supplier", "s-name": "篡改", "s-communities": [c2.community.pk], "s-is_active": "on"},
                {"action": "link", "staff-username": "supplier"},
                {"action": "unlink", "user": c2.personas.supplier.pk},
            ),
            control="",  # the street command's
        )
    ],
    # The supplier's staff or the street command add items (the control, a community worker, is refused).
    "supplies:item_create": lambda c2: [
        Case(
            {"pk": c2.supplies["supplier"].pk},
            posts=({"name": "篡改商品", "category": "vegetables", "unit": "份", "price": "1.00", "is_active": "on"},),
            control="",
        )
    ],
    "supplies:item": lambda c2: [
        Case(
            {"pk": c2.supplies["item"].pk},
            readers=SUPPLIER_READERS,
            posts=(
                {
                    "action": "item",
                    "name": "篡改",
                    "category": "vegetables",
                    "unit": "份",
                    "price": "0.01",
                    "is_active": "on",
                },
                {"action": "parts"},
            ),
        )
    ],
    "supplies:windows": list_case("shows"),
    "supplies:window_create": lambda c2: [Case(targets_c2=False, posts=(supply_window_post(c2),), control="get")],
    "supplies:window": lambda c2: [
        Case({"pk": c2.supplies["window"].pk}, posts=supply_window_posts(c2)),
        Case({"pk": c2.supplies["past"].pk}),
    ],
    "supplies:schedules": lambda c2: [
        Case(
            targets_c2=False,
            posts=(
                {
                    "action": "create",
                    "supplier": c2.supplies["supplier"].pk,
                    "community": c2.community.pk,
                    "order_weekdays": ["2"],
                    "opens_time": "08:00",
                    "cutoff_time": "20:00",
                    "delivery_after_days": "1",
                },
                {"action": "generate", "schedule": c2.supplies["schedule"].pk},
                {"action": "toggle", "schedule": c2.supplies["schedule"].pk},
            ),
            control="shows",  # C2's schedule: 团结社区
        )
    ],
    "supplies:stock": list_case("get"),  # the street's suppliers' stock: no C2 marker of their own
    "supplies:stock_report": lambda c2: [
        Case(
            {"pk": c2.supplies["supplier"].pk},
            readers=CATALOGUE_READERS,
            posts=({f"item_{item.pk}": "1" for item in c2.supplies["items"]},),
        )
    ],
    "supplies:price_report": lambda c2: [
        Case(
            {"pk": c2.supplies["supplier"].pk},
            readers=CATALOGUE_READERS,
            posts=({f"item_{item.pk}": "99.00" for item in c2.supplies["items"]},),
        )
    ],
    "supplies:staff_checks": lambda c2: [
        Case(
            {"pk": c2.supplies["supplier"].pk},
            readers=CATALOGUE_READERS,
            posts=({"kind": "temperature", "staff_name": "篡改", "temperature": "36.5"},),
        )
    ],
    # the street's thresholds: read by supplies staff, changed by the street command (the control too is refused)
    "supplies:settings": lambda c2: [
        Case(targets_c2=False, posts=({"min_cover_days": "1", "demand_days": "1", "staff_check_hours": "1"},))
    ],
    # The resident's own household only (staff, the control too, are refused): C2's window posted to it
    # must not take an order for anyone.
    "supplies:me": lambda c2: [Case(targets_c2=False, posts=(supply_order_post(c2),), control="")],
    "supplies:proxy": lambda c2: [
        Case(targets_c2=False, control="get"),  # the outsider's own proxy orders (none placed by hand)
        Case(query={"q": PERSON_NAME}, targets_c2=False, control="shows"),  # finds room B909
    ],
    "supplies:proxy_household": lambda c2: [
        Case({"pk": household.pk}, posts=(supply_order_post(c2),)) for household in (c2.household, c2.plain_household)
    ],
    "supplies:package_confirm": lambda c2: [Case({"pk": c2.supplies["package"].pk}, control="")],  # residents only
    # POST only: C2's worker cancels the open window's order (after every refusal).
    "supplies:order_cancel": lambda c2: [Case({"pk": c2.supplies["order"].pk}, control="post")],
    # delivery (S6): C2's drop-off point, the past window's packages and run
    "supplies:delivery_index": list_case("shows"),  # the aggregated windows in scope: C2's past window
    "supplies:drop_offs": lambda c2: [
        Case(
            targets_c2=False,
            posts=({"compound": c2.compound.pk, "name": "篡改投放点", "location": "篡改", "is_active": "on"},),
            control="shows",
        )
    ],
    "supplies:drop_off_edit": lambda c2: [
        Case({"pk": c2.supplies["drop_off"].pk}, posts=({"name": "篡改", "location": "篡改", "is_active": "on"},))
    ],
    "supplies:drop_off_sign": lambda c2: [Case({"pk": c2.supplies["drop_off"].pk})],
    "supplies:delivery_window": lambda c2: [
        Case(
            {"pk": window.pk},
            posts=({"drop_off": c2.supplies["drop_off"].pk, "volunteer": c2.personas.outsider.pk},),
        )
        for window in (c2.supplies["past"], c2.supplies["window"])
    ],
    # POST only (redirects); the control is the run's volunteer, C2's worker
    "supplies:package_resolve": lambda c2: [
        Case({"pk": c2.supplies["package"].pk}, posts=({"resolution": "redelivered", "note": "篡改"},), control="post")
    ],
    "supplies:package_undelivered": lambda c2: [
        Case({"pk": c2.supplies["package"].pk}, posts=({"reason": "篡改"},), control="post")
    ],
    "supplies:delivery_mine": list_case("shows"),  # the volunteer's own runs: the outsider carries C2's
    # money (S7): the past window's payments, credit and settlement; POST-only pages redirect (control "post")
    "supplies:money_index": list_case("shows"),
    "supplies:money_xlsx_all": lambda c2: [
        Case(targets_c2=False, control="shows"),
        Case(query={"window": [c2.supplies["past"].pk, c2.supplies["window"].pk]}, targets_c2=False, control="shows"),
    ],
    "supplies:money_window": lambda c2: [
        Case({"pk": window.pk}) for window in (c2.supplies["past"], c2.supplies["window"])
    ],
    "supplies:money_xlsx": lambda c2: [Case({"pk": c2.supplies["past"].pk})],
    "supplies:money_credit_settle": lambda c2: [
        Case({"pk": c2.supplies["past"].pk}, posts=({"entry": [c2.supplies["credit"].pk]},), control="post")
    ],
    "supplies:money_settle": lambda c2: [
        Case({"pk": c2.supplies["past"].pk}, posts=({"amount": "1.00", "note": "篡改"},), control="post")
    ],
    "supplies:money_pay": lambda c2: [
        Case({"pk": c2.supplies["past_orders"][0].pk}, posts=({"mode": "prepaid", "amount": "1.00"},), control="post")
    ],
    "supplies:money_refund": lambda c2: [
        Case({"pk": c2.supplies["order"].pk}, posts=({"amount": "1.00"},), control="post")
    ],
    "supplies:money_credit": lambda c2: [Case({"pk": c2.supplies["past_orders"][1].pk}, control="post")],
    # packing (S4, S5): the past window's purchase order, its pick lists and labels
    "supplies:purchase_list": list_case("shows"),
    "supplies:purchase_detail": lambda c2: [Case({"pk": c2.supplies["purchase"].pk})],
    "supplies:purchase_shortfall": lambda c2: [
        Case(
            {"pk": purchase.pk},
            posts=({f"offer_{offer.pk}": "0" for offer in purchase.window.offers.all()},),
            control="post",
        )
        for purchase in (c2.supplies["packed_purchase"], c2.supplies["purchase"])
    ],
    "supplies:purchase_picklist_pdf": lambda c2: [
        Case({"pk": c2.supplies["purchase"].pk}),
        Case({"pk": c2.supplies["purchase"].pk}, query={"drop_off": c2.supplies["drop_off"].pk, "households": "1"}),
    ],
    "supplies:purchase_picklist_xlsx": lambda c2: [
        Case({"pk": c2.supplies["purchase"].pk}, query={"households": "1"}),
    ],
    "supplies:purchase_labels": lambda c2: [
        Case({"pk": c2.supplies["purchase"].pk}),
        Case({"pk": c2.supplies["purchase"].pk}, query={"drop_off": c2.supplies["drop_off"].pk}),
    ],
    # POST only: the open window's cut-off has not come (the control is told so, not refused)
    "supplies:window_aggregate": lambda c2: [Case({"pk": c2.supplies["window"].pk}, control="post")],
}
PAGES.update(SUPPLIES_PAGES)
# The hand-over page's service worker: public, file names only.
PUBLIC_PAGES["supplies:delivery_sw"] = "get"


@dataclass
class Route:
    route: str
    name: str | None
    arguments: set[str]


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            arguments = set(pattern.pattern.regex.groupindex)
            yield Route(route, f"{namespace}{pattern.name}" if pattern.name else None, arguments)


def site_routes() -> list[Route]:
    """Every page of the site, but the ones the sweep leaves alone (SKIPPED_PREFIXES)."""
    return [
        route for route in walk(get_resolver().url_patterns) if not route.route.lstrip("^").startswith(SKIPPED_PREFIXES)
    ]


def unlisted_pages() -> list[str]:
    problems = []
    routes = site_routes()
    for route in routes:
        if route.name is None:
            problems.append(f"the page /{route.route} has no URL name: name it and add it to PAGES")
        elif route.name not in PAGES and route.name not in PUBLIC_PAGES:
            problems.append(
                f"the page {route.name} (/{route.route}) is not in the scope sweep: add an entry to PAGES "
                "in linli/tests/test_scope_sweep.py saying which C2 object to fill it with"
            )
    names = {route.name for route in routes}
    problems += [f"PAGES lists {name}, which is no longer a URL" for name in (set(PAGES) | set(PUBLIC_PAGES)) - names]
    return problems


def is_login_redirect(response: HttpResponseBase) -> bool:
    return response.status_code in (301, 302) and response["Location"].startswith(
        resolve_url(django_settings.LOGIN_URL)
    )


def page_url(name: str, case: Case) -> str:
    path = reverse(name, kwargs=case.kwargs)
    return f"{path}?{urlencode(case.query, doseq=True)}" if case.query else path


@dataclass
class Tally:
    urls: int = 0
    requests: int = 0
    findings: list[str] = field(default_factory=list)


def sweep_page(c2: C2, clients: dict[str, Client], name: str, case: Case, tally: Tally) -> None:
    url = page_url(name, case)
    sent = tuple(str(value) for value in case.query.values())  # a search box shows what was typed
    tally.urls += 1
    before = state(c2)
    for persona in REFUSED:
        client = clients[persona]
        requests: list[tuple[str, dict[str, Any] | None]] = [("GET", None), ("POST", {})]
        requests += [("POST", body) for body in case.posts]
        for method, body in requests:
            tally.requests += 1
            if method == "GET":
                response = client.get(url, follow=not case.targets_c2)
            else:
                response = client.post(url, body or {})
            what = f"{method} {url}{' ' + str(sorted(body)) if body else ''} as {persona}"
            status = response.status_code
            refused = case.targets_c2 and persona not in case.readers
            if refused and not (status in (403, 404, 405) or is_login_redirect(response)):
                tally.findings.append(f"{what}: answered {status}, not 403/404")
            shown = leaks(c2, body_text(response), path=url, sent=sent, persona=persona)
            if shown:
                tally.findings.append(f"{what}: shows {', '.join(shown)}")
    written = changed(before, state(c2))
    if written:
        tally.findings.append(f"{url}: the refused requests wrote {', '.join(written)}")


def control_page(c2: C2, client: Client, name: str, case: Case, tally: Tally) -> None:
    url = page_url(name, case)
    if case.control in ("get", "post"):
        response = client.get(url) if case.control == "get" else client.post(url, case.posts[0] if case.posts else {})
        body_text(response)
        if response.status_code in (403, 404, 405) or is_login_redirect(response):
            tally.findings.append(
                f"control: {case.control.upper()} {url} as {CONTROL} (C2's own worker) answered "
                f"{response.status_code}: the refusals above prove nothing"
            )
    elif case.control == "shows":
        response = client.get(url, follow=True)
        sent = tuple(str(value) for value in case.query.values())
        if not leaks(c2, body_text(response), path=url, sent=sent):
            tally.findings.append(
                f"control: GET {url} as {CONTROL} (C2's own worker) shows no C2 marker: the list check proves nothing"
            )


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def c2(personas: Personas, tmp_path: Path, settings: Any) -> C2:
    settings.ROSTER_IMPORT_IN_BACKGROUND = False
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return build_c2(personas, tmp_path)


def test_every_page_is_in_the_sweep_table() -> None:
    problems = unlisted_pages()
    assert not problems, "\n".join(problems)


def test_no_page_shows_or_changes_anything_of_another_community(c2: C2) -> None:
    # given
    started = time.monotonic()
    problems = unlisted_pages()
    assert not problems, "\n".join(problems)
    routes = {route.name: route for route in site_routes()}
    clients = {persona: logged_in(getattr(c2.personas, persona)) for persona in (*REFUSED, CONTROL)}
    tally = Tally()
    cases = [(name, case) for name in PAGES for case in PAGES[name](c2)]
    for name, case in cases:
        if set(case.kwargs) != routes[name].arguments:
            tally.findings.append(
                f"PAGES[{name!r}] fills {sorted(case.kwargs)}, the URL takes {sorted(routes[name].arguments)}"
            )
    assert not tally.findings, "\n".join(tally.findings)

    # when
    for name, case in cases:
        sweep_page(c2, clients, name, case, tally)
    # The controls write (a reveal, a seeded group, a revoked token): after every refusal.
    for name, case in cases:
        control_page(c2, clients[CONTROL], name, case, tally)

    # then
    print(
        f"\npage sweep: {len(routes) - len(PUBLIC_PAGES)} URL names, {tally.urls} URLs, {tally.requests} refused "
        f"requests as {len(REFUSED)} accounts, {time.monotonic() - started:.1f} s"
    )
    assert not tally.findings, "\n".join(tally.findings)


def test_public_pages_answer_anyone_and_show_nothing_of_the_registry(c2: C2) -> None:
    for name, method in PUBLIC_PAGES.items():
        url = reverse(name)
        response = Client().post(url) if method == "post" else Client().get(url)
        assert response.status_code == {"get": 200, "post": 302, "redirect": 301}[method], url
        assert not leaks(c2, body_text(response), path=url), url


# --- the API ----------------------------------------------------------------------------------------

API_PREFIX = "/api/v1"

# Path parameter -> the C2 values to fill it with. An endpoint with a parameter not here fails the sweep.
API_PARAMS: dict[str, Callable[[C2], list[Any]]] = {
    "household_id": lambda c2: [c2.household.pk, c2.plain_household.pk],
    "person_id": lambda c2: [c2.person.pk],
    "field": lambda c2: ["phone", "id_number"],
    "compound_id": lambda c2: [c2.compound.pk],
    "job_id": lambda c2: [c2.job.pk],
    "checkpoint_id": lambda c2: [c2.gate["checkpoint"].pk],
    "exempt_id": lambda c2: [c2.gate["exempt"].pk],
    "visit_id": lambda c2: [c2.gate["visit"].pk],
    "vehicle_pass_id": lambda c2: [c2.gate["vehicle_pass"].pk],
    "parcel_id": lambda c2: [c2.gate["parcel"].pk, c2.gate["contactless"].pk],
    "shift_id": lambda c2: [c2.gate["shift"].pk],
    "assignment_id": lambda c2: [c2.gate["assignment"].pk],
    "alert_id": lambda c2: [c2.gate["alert"].pk],
    "violation_id": lambda c2: [c2.gate["violation"].pk],
    # the health API's (plant_health_api; the escalation and the rule are the health pages')
    "order_id": lambda c2: [c2.health["api"]["order"].pk],
    "test_id": lambda c2: [c2.health["api"]["task"].pk],
    "escalation_id": lambda c2: [c2.health["escalation"].pk],
    "case_id": lambda c2: [c2.health["api"]["case"].pk],
    "seal_id": lambda c2: [c2.health["api"]["seal"].pk],
    "emergency_id": lambda c2: [c2.health["api"]["emergency"].pk],
    "community_id": lambda c2: [c2.community.pk],
    "unit_id": lambda c2: [c2.health["api"]["unit"].pk],
    "building_id": lambda c2: [c2.health["api"]["building"].pk],
    "rule_id": lambda c2: [c2.health["rule"].pk],
    "area_id": lambda c2: [c2.health["api"]["area"].pk],
}

# The supplies API's path parameters (under /api/v1/supplies/, whose names may repeat another app's:
# its order_id is a supplies order, not a quarantine order). Planted by plant_supplies().
SUPPLIES_PREFIX = "/api/v1/supplies/"
SUPPLIES_API_PARAMS: dict[str, Callable[[C2], list[Any]]] = {}
# "METHOD /path" -> path parameters filled otherwise for that operation (the control's order needs it).
SUPPLIES_OP_PARAMS: dict[str, dict[str, Callable[[C2], list[Any]]]] = {}
# "METHOD /path" of a GET -> refused accounts that may read it (a record of the street, not of C2).
SUPPLIES_API_READERS: dict[str, tuple[str, ...]] = {}

# JSON body property -> a plausible value for the supplies API (may use C2's objects), before BODY_VALUES.
SUPPLIES_BODY_VALUES: dict[str, Callable[[C2], Any]] = {}


def api_params(operation: Operation) -> dict[str, Callable[[C2], list[Any]]]:
    if operation.path.startswith(SUPPLIES_PREFIX):
        return {**SUPPLIES_API_PARAMS, **SUPPLIES_OP_PARAMS.get(operation.key, {})}
    return API_PARAMS


# JSON body property -> a plausible value, so that a write is stopped by scope, not by validation.
# Properties not here take their schema default (omitted when the default is null).
BODY_VALUES: dict[str, Callable[[], Any]] = {
    # unique: the control creates a checkpoint and renames another of the same compound
    "name": lambda: f"篡改姓名{make_phone()[-4:]}",
    "phone": make_phone,
    "id_number": make_id_number,
    "note": lambda: "篡改",
    "street_leader": lambda: "篡改甲",
    "street_leader_phone": make_phone,
    "community_leader": lambda: "篡改乙",
    "community_leader_phone": make_phone,
    "responsible": lambda: "篡改丙",
    "responsible_phone": make_phone,
    "members_confirmed": lambda: True,
    "uuid": lambda: str(uuid.uuid4()),
    "credential": lambda: "1234567890",
    "direction": lambda: "out",
    "device_time": lambda: timezone.now().isoformat(),
    "scans": lambda: [],
    "temperature": lambda: "36.6",
    "coming_from": lambda: "篡改地",
    "purpose": lambda: "篡改事由",
    "organisation": lambda: "篡改单位",
    "proof": lambda: "篡改证明",
    "valid_until": lambda: (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
    "plate": lambda: f"沪D{make_phone()[-5:]}",  # unique: the control registers one per household
    "code": lambda: DESK_PICKUP_CODE,
    "starts": lambda: "08:00",
    "ends": lambda: "12:00",
    "min_staff": lambda: 2,
    "reason": lambda: "other",  # a hold's reason (also a revocation's and a release's)
    # the health API's
    "days": lambda: 7,  # an order's extension
    "status": lambda: "transferred",  # an order's end
    "result": lambda: "negative",
    "step": lambda: "community_notified",
    "source": lambda: "known",  # a case's
    "place": lambda: "篡改地点",  # an epidemic point's
    "visited_on": lambda: timezone.localdate().isoformat(),
    "hours": lambda: 2,
    "conditions": lambda: {"tested": True, "no_new_case": True, "disinfected": True},
    "company": lambda: "篡改物业",
    "level": lambda: 3,  # a property emergency's
    "item": lambda: "l3_meeting",
}

# Operations whose body the sweep cannot build: a 422 is accepted from them ("METHOD /path": why).
UNBUILDABLE_BODIES: dict[str, str] = {}

# Targeted operations that C2's own worker may not use either, for its role ("METHOD /path": why).
ROLE_LIMITED_API: dict[str, str] = {
    "POST /api/v1/gate/assignments/{assignment_id}/sign-in": "only the person on the shift, near its time",
    "POST /api/v1/gate/assignments/{assignment_id}/sign-out": "only the person on the shift, after signing in",
    "PATCH /api/v1/health/rules/{rule_id}": "the street's rule table: the street command only",
    "POST /api/v1/health/risk-areas/{area_id}/end": "the street's risk areas: the street command only",
}


@dataclass(frozen=True)
class ApiCase:
    """One call of an endpoint without path parameters (a list, a download, an upload).

    ``targets_c2``: the query names a C2 node, so refused accounts must get 401/403/404;
    ``id_kind``: the kind of record the "id" of the JSON rows is (C2's ids must not appear);
    ``upload``: a multipart body (a roster), with ``sent`` the C2 words it carries itself;
    ``body``: a JSON body naming C2's objects (``targets_c2`` then), ``headers`` sent with it.
    """

    query: dict[str, Any] = field(default_factory=dict)
    targets_c2: bool = False
    id_kind: str = ""
    control: str = "shows"
    upload: Callable[[], dict[str, Any]] | None = None
    sent: tuple[str, ...] = ()
    body: Callable[[C2], Any] | None = None
    headers: Callable[[], dict[str, str]] | None = None
    # what a refusal of a targeted call may answer (a hand-over refuses an unknown code with 422)
    refused_status: tuple[int, ...] = (401, 403, 404)


def forged_upload(c2: C2) -> ApiCase:
    """A roster that puts a new person into C2 and renames C2's person by their ID number."""

    def body() -> dict[str, Any]:
        rows = [
            {"room": ROOM, "name": "篡改新人", "id_number": make_id_number("19900101")},
            {"room": "101", "name": FORGED_NAME, "id_number": c2.person.id_number or ""},
        ]
        path = c2.roster(f"forged-{make_phone()}.xlsx", rows)
        return {"file": path.open("rb"), "mode": "good"}

    sent = (c2.community.name, c2.compound.name, ROOM, c2.person.id_number or "")
    # The outsider's own upload is in scope (created or updated, 201): that it works is the control.
    return ApiCase(upload=body, sent=sent, control="get")


# "METHOD /path" of every endpoint without path parameters -> the calls to sweep.
API_LISTS: dict[str, Callable[[C2], list[ApiCase]]] = {
    "GET /api/v1/accounts/me": lambda c2: [ApiCase()],
    "GET /api/v1/registry/nodes": lambda c2: [
        *(ApiCase({"level": level}, id_kind=level) for level, _node in c2.nodes()),
        *(
            ApiCase({"level": child, "parent": node.pk}, id_kind=child)
            for (_level, node), (child, _child_node) in itertools.pairwise(c2.nodes())
        ),
    ],
    "GET /api/v1/registry/households": lambda c2: [
        ApiCase(id_kind="household"),
        ApiCase({"compound": c2.compound.pk}, id_kind="household"),
        ApiCase({"building": c2.household.building_id}, id_kind="household"),
        ApiCase({"unit": c2.unit.pk}, id_kind="household"),
    ],
    "GET /api/v1/registry/people": lambda c2: [
        ApiCase({"q": q}, id_kind="person")
        for q in (PERSON_NAME, c2.person.phone, c2.person.phone[-4:], c2.person.id_number, "101")
    ],
    "GET /api/v1/survey/progress": lambda c2: [
        ApiCase(),
        *(ApiCase({"level": level, "id": node.pk}, targets_c2=True, control="get") for level, node in c2.nodes()[:4]),
    ],
    "GET /api/v1/org/groups": lambda c2: [ApiCase(id_kind="group")],
    "POST /api/v1/rosters/imports": lambda c2: [forged_upload(c2)],
    "GET /api/v1/rosters/imports": lambda c2: [ApiCase(id_kind="job")],
    "GET /api/v1/rosters/template": lambda c2: [ApiCase()],
    "GET /api/v1/rosters/export": lambda c2: [
        ApiCase(),
        *(ApiCase({"level": level, "id": node.pk}, targets_c2=True, control="get") for level, node in c2.nodes()),
    ],
    "GET /api/v1/audit/events": lambda c2: [ApiCase(id_kind="event")],
    "GET /api/v1/gate/checkpoints": lambda c2: [ApiCase()],
    "GET /api/v1/gate/exempt-passes": lambda c2: [ApiCase()],
    "GET /api/v1/gate/vehicle-passes": lambda c2: [ApiCase()],
    "GET /api/v1/gate/parcels": lambda c2: [ApiCase()],
    "GET /api/v1/gate/live": lambda c2: [ApiCase()],
    "GET /api/v1/gate/duty/mine": lambda c2: [ApiCase(control="get")],  # one's own shifts; none planted
    "GET /api/v1/gate/my-pass": lambda c2: [ApiCase(control="")],  # a resident's own household; staff 403
    # The street's tables: the same street for C1 and C2, nothing of C2's in them.
    "GET /api/v1/health/rules": lambda c2: [ApiCase(control="get")],
    "GET /api/v1/health/risk-areas": lambda c2: [ApiCase(control="get")],
    "POST /api/v1/health/risk-areas": lambda c2: [ApiCase(control="")],  # the street command's; sent without a body
    "GET /api/v1/health/settings": lambda c2: [ApiCase(control="get")],
    "PATCH /api/v1/health/settings": lambda c2: [ApiCase(control="")],  # the street command's; sent without a body
    "GET /api/v1/health/key-persons": lambda c2: [ApiCase(), ApiCase({"community": c2.community.pk})],
    "GET /api/v1/health/orders": lambda c2: [ApiCase(), ApiCase({"status": "active", "community": c2.community.pk})],
    # slot 1: C2's sealed unit reports once a day (the morning), and nobody reports in the sweep
    "GET /api/v1/health/chase": lambda c2: [ApiCase({"slot": 1})],
    "GET /api/v1/health/summary": lambda c2: [ApiCase()],
    "GET /api/v1/health/escalations": lambda c2: [ApiCase(), ApiCase({"status": "open"})],
    "GET /api/v1/health/cases": lambda c2: [ApiCase(), ApiCase({"community": c2.community.pk})],
    "GET /api/v1/health/seals": lambda c2: [ApiCase(), ApiCase({"active": "true"})],
    "GET /api/v1/health/emergencies": lambda c2: [ApiCase()],
}


# --- the supplies API (S1–S10): filled with plant_supplies()'s records ------------------------------


def supply_order_body(c2: C2, household: Household | None = None) -> dict[str, Any]:
    """An order of one of each offer of C2's open window, for ``household`` (C2's plain household)."""
    return {
        "window": c2.supplies["window"].pk,
        "household": (household or c2.plain_household).pk,
        "lines": [{"offer": offer.pk, "quantity": 1} for offer in c2.supplies["offers"]],
        "note": "篡改",
    }


def tiny_jpeg() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("door.jpg", b"\xff\xd8\xff\xe0" + b"0" * 64 + b"\xff\xd9", content_type="image/jpeg")


def in_hours(hours: int) -> str:
    return (timezone.now() + datetime.timedelta(hours=hours)).isoformat()


SUPPLIES_API_PARAMS.update(
    {
        # The open window's order (the control cancels it); the past window's orders are after cut-off.
        "order_id": lambda c2: [c2.supplies["order"].pk],
        "household_id": lambda c2: [c2.household.pk, c2.plain_household.pk],
        "supplier_id": lambda c2: [c2.supplies["supplier"].pk],
        "item_id": lambda c2: [c2.supplies["item"].pk],
        "window_id": lambda c2: [c2.supplies["window"].pk, c2.supplies["past"].pk],
        "offer_id": lambda c2: [c2.supplies["offer"].pk],
        "schedule_id": lambda c2: [c2.supplies["schedule"].pk],
        "point_id": lambda c2: [c2.supplies["drop_off"].pk],
        "run_id": lambda c2: [c2.supplies["run"].pk],
        # the past window's package on the run (the control reports it undelivered, then redelivers it)
        "package_id": lambda c2: [c2.supplies["package"].pk],
        "purchase_id": lambda c2: [c2.supplies["purchase"].pk],
    }
)
SUPPLIES_OP_PARAMS.update(
    {
        # a draft window with one offer: the control adds one (the third item), then publishes it
        "POST /api/v1/supplies/windows/{window_id}/publish": {"window_id": lambda c2: [c2.supplies["draft"].pk]},
        "POST /api/v1/supplies/windows/{window_id}/offers": {"window_id": lambda c2: [c2.supplies["draft"].pk]},
        # aggregated already: the control is answered the same purchase order (idempotent)
        "POST /api/v1/supplies/windows/{window_id}/aggregate": {"window_id": lambda c2: [c2.supplies["past"].pk]},
        # not yet being delivered: the control allocates the shortfall
        "POST /api/v1/supplies/purchases/{purchase_id}/shortfall": {
            "purchase_id": lambda c2: [c2.supplies["packed_purchase"].pk]
        },
    }
)
SUPPLIES_BODY_VALUES.update(
    {
        "item_id": lambda c2: c2.supplies["items"][2].pk,  # an offer of the third item (not offered yet)
        "quantity": lambda c2: 60,  # more than the 50 offered: an offer's quantity may grow, not shrink below sold
        "resolution": lambda c2: "redelivered",
        "reason": lambda c2: "篡改：家中无人",
        "user_id": lambda c2: c2.personas.supplier.pk,  # 平价超市's staff linked to 团结超市: refused
        "parts": lambda c2: [{"part_id": c2.supplies["items"][1].pk, "quantity": "1"}],
        "available": lambda c2: [{"offer_id": c2.supplies["packed"].offers.order_by("pk")[0].pk, "units": 1}],
    }
)
# The street's supplier and its catalogue: read by the street's supplies staff (C1's too), not by 平价超市's.
SUPPLIES_API_READERS.update(
    {
        "GET /api/v1/supplies/suppliers/{supplier_id}": ("community_worker", "grid_worker"),
        "GET /api/v1/supplies/items/{item_id}": ("community_worker", "grid_worker"),
        "GET /api/v1/supplies/suppliers/{supplier_id}/checklist": ("community_worker",),
    }
)
ROLE_LIMITED_API.update(
    {
        "PATCH /api/v1/supplies/suppliers/{supplier_id}": "the street command's",
        "POST /api/v1/supplies/suppliers/{supplier_id}/staff": "the street command's",
        "PATCH /api/v1/supplies/items/{item_id}": "the supplier's staff or the street command",
        "PUT /api/v1/supplies/items/{item_id}/parts": "the supplier's staff or the street command",
        "POST /api/v1/supplies/packages/{package_id}/confirm": "the household's own resident (none in C2)",
    }
)

SUPPLIES_API_LISTS: dict[str, Callable[[C2], list[ApiCase]]] = {
    "POST /api/v1/supplies/orders": lambda c2: [
        # C2's household in C2's window: refused (the control places the plain household's order).
        ApiCase(body=supply_order_body, targets_c2=True, control="get"),
        # One's own household (C1's) in C2's window: refused, nothing written (the rows are compared).
        ApiCase(body=lambda c2: supply_order_body(c2, c2.personas.resident_household), control=""),
    ],
    "GET /api/v1/supplies/orders": lambda c2: [
        ApiCase(id_kind="supply_order"),
        ApiCase({"window": c2.supplies["window"].pk}, id_kind="supply_order"),
        ApiCase({"window": c2.supplies["past"].pk, "status": "placed"}, id_kind="supply_order"),
    ],
    # catalogue (S1, S2): the street's suppliers and items are no C2 marker but for 平价超市's staff
    "GET /api/v1/supplies/suppliers": lambda c2: [ApiCase(id_kind="supplier", control="get")],
    "POST /api/v1/supplies/suppliers": lambda c2: [
        ApiCase(body=lambda c2: {"name": "篡改商超", "community_ids": [c2.community.pk]}, control="")  # street's
    ],
    "GET /api/v1/supplies/items": lambda c2: [
        ApiCase(id_kind="supply_item", control="get"),
        ApiCase({"supplier": c2.supplies["supplier"].pk}, id_kind="supply_item", control="get"),
    ],
    "POST /api/v1/supplies/items": lambda c2: [
        ApiCase(
            body=lambda c2: {
                "supplier_id": c2.supplies["supplier"].pk,
                "name": "篡改商品",
                "category": "vegetables",
                "price": "1.00",
            },
            targets_c2=True,
            control="",  # the supplier's staff or the street command
        )
    ],
    "GET /api/v1/supplies/windows": lambda c2: [
        ApiCase(id_kind="supply_window"),
        ApiCase({"community": c2.community.pk}, id_kind="supply_window"),
        ApiCase({"supplier": c2.supplies["supplier"].pk}, id_kind="supply_window"),
    ],
    "POST /api/v1/supplies/windows": lambda c2: [
        ApiCase(
            body=lambda c2: {
                "supplier_id": c2.supplies["supplier"].pk,
                "community_id": c2.community.pk,
                "opens_at": in_hours(30),
                "cutoff_at": in_hours(40),
                "delivery_on": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
                "title": "篡改窗口",
            },
            targets_c2=True,
            control="get",
        )
    ],
    "GET /api/v1/supplies/schedules": lambda c2: [ApiCase(id_kind="supply_schedule")],
    "POST /api/v1/supplies/schedules": lambda c2: [
        ApiCase(
            body=lambda c2: {
                "supplier_id": c2.supplies["supplier"].pk,
                "community_id": c2.community.pk,
                "order_weekdays": [3],
            },
            targets_c2=True,
            control="get",
        )
    ],
    # stock, prices, staff checks (S8–S10): 团结超市's, changed by its staff or the street command only
    "GET /api/v1/supplies/stock-reports": lambda c2: [ApiCase(id_kind="supplier", control="get")],
    "POST /api/v1/supplies/stock-reports": lambda c2: [
        ApiCase(body=lambda c2: {"item_id": c2.supplies["item"].pk, "quantity": 1}, targets_c2=True, control="")
    ],
    "GET /api/v1/supplies/cover": lambda c2: [
        ApiCase(control="get"),
        ApiCase({"supplier": c2.supplies["supplier"].pk}, control="get"),
    ],
    "GET /api/v1/supplies/price-reports": lambda c2: [ApiCase(control="get")],
    "POST /api/v1/supplies/price-reports": lambda c2: [
        ApiCase(body=lambda c2: {"item_id": c2.supplies["item"].pk, "price": "99.00"}, targets_c2=True, control="")
    ],
    "GET /api/v1/supplies/staff-checks": lambda c2: [ApiCase(control="get")],
    "POST /api/v1/supplies/staff-checks": lambda c2: [
        ApiCase(
            body=lambda c2: {
                "supplier_id": c2.supplies["supplier"].pk,
                "kind": "temperature",
                "staff_name": "篡改",
                "temperature": "36.5",
            },
            targets_c2=True,
            control="",
        )
    ],
    "GET /api/v1/supplies/settings": lambda c2: [ApiCase(control="get")],
    "PATCH /api/v1/supplies/settings": lambda c2: [ApiCase(body=lambda c2: {"min_cover_days": 1}, control="")],
    # delivery (S6)
    "GET /api/v1/supplies/drop-offs": lambda c2: [
        ApiCase(id_kind="drop_off"),
        ApiCase({"compound_id": c2.compound.pk}, id_kind="drop_off"),
    ],
    "POST /api/v1/supplies/drop-offs": lambda c2: [
        ApiCase(
            body=lambda c2: {"compound_id": c2.compound.pk, "name": "篡改投放点", "building_ids": []},
            targets_c2=True,
            control="get",
        )
    ],
    "GET /api/v1/supplies/runs": lambda c2: [
        ApiCase(id_kind="delivery_run"),
        ApiCase({"window_id": c2.supplies["past"].pk}, id_kind="delivery_run"),
    ],
    "POST /api/v1/supplies/runs": lambda c2: [
        ApiCase(
            body=lambda c2: {
                "window_id": c2.supplies["past"].pk,
                "drop_off_id": c2.supplies["drop_off"].pk,
                "volunteer_id": c2.personas.outsider.pk,
                "package_ids": [c2.supplies["package"].pk],
            },
            targets_c2=True,
            control="get",
        )
    ],
    # A code of C2's: refused like an unknown code (422). The control scans the delivered one ("already").
    "POST /api/v1/supplies/handover": lambda c2: [
        ApiCase(
            body=lambda c2: {"code": f"LLP:{c2.supplies['delivered'].handover_code}"},
            targets_c2=True,
            refused_status=(401, 403, 404, 422),
            control="get",
        ),
        ApiCase(
            body=lambda c2: {"code": c2.supplies["package"].handover_code, "contactless": False},
            targets_c2=True,
            refused_status=(401, 403, 404, 422),
            control="",  # on the run still: the control reports it undelivered below
        ),
    ],
    "POST /api/v1/supplies/handover/photo": lambda c2: [
        ApiCase(
            upload=lambda: {"code": c2.supplies["delivered"].handover_code, "photo": tiny_jpeg()},
            targets_c2=True,
            refused_status=(401, 403, 404, 422),
            control="get",
        )
    ],
    # a batch answers 200 with each item refused: nothing shown, nothing written is the check. The
    # control syncs the delivered package ("already"); the one on the run is left to the control below.
    "POST /api/v1/supplies/handovers/sync": lambda c2: [
        ApiCase(
            body=lambda c2: {
                "handovers": [
                    {"uuid": str(uuid.uuid4()), "code": package.handover_code, "device_time": in_hours(0)}
                    for package in (c2.supplies["package"], c2.supplies["delivered"])
                ]
            },
            control="",
        ),
        ApiCase(
            body=lambda c2: {
                "handovers": [
                    {
                        "uuid": str(uuid.uuid4()),
                        "code": c2.supplies["delivered"].handover_code,
                        "device_time": in_hours(0),
                    }
                ]
            },
            control="get",
        ),
    ],
    # packing (S4, S5)
    "GET /api/v1/supplies/purchases": lambda c2: [ApiCase(id_kind="purchase")],
    # money (S7)
    "GET /api/v1/supplies/payments": lambda c2: [
        ApiCase(),
        ApiCase({"window_id": c2.supplies["past"].pk}),
    ],
    "POST /api/v1/supplies/payments": lambda c2: [
        ApiCase(
            body=lambda c2: {"order_id": c2.supplies["past_orders"][0].pk, "mode": "prepaid", "amount": "1.00"},
            targets_c2=True,
            control="get",
        )
    ],
    # the open window's order, paid 1.00 in advance and cancelled by the orders' control above
    "POST /api/v1/supplies/refunds": lambda c2: [
        ApiCase(body=lambda c2: {"order_id": c2.supplies["order"].pk, "amount": "1.00"}, targets_c2=True, control="get")
    ],
    "GET /api/v1/supplies/credits": lambda c2: [ApiCase(), ApiCase({"unsettled": "true"})],
    "POST /api/v1/supplies/credits": lambda c2: [
        ApiCase(body=lambda c2: {"order_id": c2.supplies["past_orders"][1].pk}, targets_c2=True, control="get")
    ],
    "POST /api/v1/supplies/credits/settle": lambda c2: [
        ApiCase(
            body=lambda c2: {"ids": [c2.supplies["credit"].pk]},
            targets_c2=True,
            refused_status=(401, 403, 404, 422),  # none of the chosen entries in scope: "请选择…"
            control="get",
        )
    ],
    "GET /api/v1/supplies/settlements": lambda c2: [ApiCase(), ApiCase({"window_id": c2.supplies["past"].pk})],
    "POST /api/v1/supplies/settlements": lambda c2: [
        ApiCase(
            body=lambda c2: {"window_id": c2.supplies["past"].pk, "amount": "1.00", "note": "篡改"},
            targets_c2=True,
            control="get",
        )
    ],
}
API_LISTS.update(SUPPLIES_API_LISTS)


@dataclass
class Operation:
    method: str
    path: str
    params: list[str]
    body: dict[str, Any] | None  # the JSON body schema, resolved

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def operations(schema: dict[str, Any]) -> list[Operation]:
    components = schema.get("components", {}).get("schemas", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref", "")
        return resolve(components[ref.rsplit("/", 1)[-1]]) if ref else node

    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            content = (operation.get("requestBody") or {}).get("content", {})
            body = resolve(content["application/json"]["schema"]) if "application/json" in content else None
            found.append(Operation(method.upper(), path, params, body))
    return found


def plausible_body(operation: Operation, c2: C2 | None = None) -> dict[str, Any] | None:
    """A body that passes the schema and the services' checks, or None when the operation takes none."""
    if operation.body is None:
        return None
    body: dict[str, Any] = {}
    supplies = c2 is not None and operation.path.startswith(SUPPLIES_PREFIX)
    for name, prop in operation.body.get("properties", {}).items():
        if supplies and name in SUPPLIES_BODY_VALUES:
            body[name] = SUPPLIES_BODY_VALUES[name](c2)  # type: ignore[arg-type]
        elif name in BODY_VALUES:
            body[name] = BODY_VALUES[name]()
        elif prop.get("default") is not None:
            body[name] = prop["default"]
        elif name in operation.body.get("required", []) and operation.key not in UNBUILDABLE_BODIES:
            raise AssertionError(f"{operation.key}: add a value for the required property {name!r} to BODY_VALUES")
    return body


def unlisted_operations(ops: list[Operation]) -> list[str]:
    problems = []
    for operation in ops:
        unknown = [name for name in operation.params if name not in api_params(operation)]
        if unknown:
            table = "SUPPLIES_API_PARAMS" if operation.path.startswith(SUPPLIES_PREFIX) else "API_PARAMS"
            problems.append(
                f"{operation.key}: path parameter(s) {unknown} are not in {table} of the scope sweep: "
                "say which C2 object to fill them with"
            )
        if not operation.params and operation.key not in API_LISTS:
            problems.append(f"{operation.key} is not in API_LISTS of the scope sweep: say which calls to make")
    keys = {operation.key for operation in ops}
    problems += [f"API_LISTS lists {key}, which is no longer an endpoint" for key in set(API_LISTS) - keys]
    return problems


def call(
    client: Client,
    method: str,
    url: str,
    token: str,
    *,
    json_body: Any = None,
    upload: Any = None,
    extra_headers: dict[str, str] | None = None,
) -> Any:
    # A fresh Idempotency-Key each call (the supplies order API requires one): a retry is not the point.
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4()), **(extra_headers or {})}
    if upload is not None:
        return client.post(url, upload, headers=headers)
    if json_body is None:
        return client.generic(method, url, headers=headers)
    return client.generic(method, url, json.dumps(json_body), content_type="application/json", headers=headers)


def sweep_operation(c2: C2, tokens: dict[str, str], operation: Operation, tally: Tally) -> None:
    client = Client()
    names = operation.params
    params = api_params(operation)
    for values in itertools.product(*(params[name](c2) for name in names)):
        url = operation.path.format(**dict(zip(names, values, strict=True)))
        tally.urls += 1
        before = state(c2)
        for persona in REFUSED:
            attempts: list[tuple[str, Any]] = [("no body", None)]
            body = plausible_body(operation, c2)
            if body is not None:
                attempts.append(("plausible body", body))
            for label, json_body in attempts:
                tally.requests += 1
                response = call(client, operation.method, url, tokens[persona], json_body=json_body)
                allowed = {401, 403, 404}
                if persona in SUPPLIES_API_READERS.get(operation.key, ()):
                    allowed.add(200)
                if operation.body is not None and (json_body is None or operation.key in UNBUILDABLE_BODIES):
                    allowed.add(422)  # a missing body is refused before scope is looked at
                what = f"{operation.method} {url} ({label}) as {persona}"
                if response.status_code not in allowed:
                    tally.findings.append(f"{what}: answered {response.status_code}, not {sorted(allowed)}")
                shown = leaks(c2, body_text(response), persona=persona)
                if shown:
                    tally.findings.append(f"{what}: shows {', '.join(shown)}")
        written = changed(before, state(c2))
        if written:
            tally.findings.append(f"{operation.method} {url}: the refused calls wrote {', '.join(written)}")


def control_operation(c2: C2, token: str, operation: Operation, tally: Tally) -> None:
    if operation.key in ROLE_LIMITED_API:
        return
    names = operation.params
    params = api_params(operation)
    for values in itertools.product(*(params[name](c2) for name in names)):
        url = operation.path.format(**dict(zip(names, values, strict=True)))
        response = call(Client(), operation.method, url, token, json_body=plausible_body(operation, c2))
        if not 200 <= response.status_code < 300:
            tally.findings.append(
                f"control: {operation.method} {url} as {CONTROL} (C2's own worker) answered {response.status_code} "
                f"{body_text(response)[:200]}: the refusals above prove nothing"
            )


def sweep_list(c2: C2, tokens: dict[str, str], operation: Operation, case: ApiCase, tally: Tally) -> None:
    client = Client()
    url = f"{operation.path}?{urlencode(case.query)}" if case.query else operation.path
    sent = tuple(str(value) for value in case.query.values())
    tally.urls += 1
    before = state(c2)
    for persona in REFUSED:
        tally.requests += 1
        upload = case.upload() if case.upload else None
        json_body = case.body(c2) if case.body else None
        headers = case.headers() if case.headers else None
        response = call(
            client, operation.method, url, tokens[persona], upload=upload, json_body=json_body, extra_headers=headers
        )
        what = f"{operation.method} {url} as {persona}"
        if case.targets_c2 and response.status_code not in case.refused_status:
            tally.findings.append(
                f"{what}: answered {response.status_code}, not {'/'.join(map(str, case.refused_status))}"
            )
        shown = leaks(c2, body_text(response), sent=case.sent + sent, id_kind=case.id_kind, persona=persona)
        if shown:
            tally.findings.append(f"{what}: shows {', '.join(shown)}")
    written = changed(before, state(c2))
    if written:
        tally.findings.append(f"{operation.method} {url}: the refused calls wrote {', '.join(written)}")


def control_list(c2: C2, token: str, operation: Operation, case: ApiCase, tally: Tally) -> None:
    if not case.control:
        return  # nothing to prove (and a write the control may not make: a package left for a later control)
    url = f"{operation.path}?{urlencode(case.query)}" if case.query else operation.path
    upload = case.upload() if case.upload else None
    json_body = case.body(c2) if case.body else None
    headers = case.headers() if case.headers else None
    response = call(Client(), operation.method, url, token, upload=upload, json_body=json_body, extra_headers=headers)
    text = body_text(response)
    if case.control == "get" and not 200 <= response.status_code < 300:
        tally.findings.append(
            f"control: {operation.method} {url} as {CONTROL} answered {response.status_code}: proves nothing"
        )
    sent = case.sent + tuple(str(value) for value in case.query.values())
    if case.control == "shows" and not leaks(c2, text, sent=sent, id_kind=case.id_kind):
        tally.findings.append(f"control: {operation.method} {url} as {CONTROL} shows nothing of C2: proves nothing")


def test_every_api_endpoint_is_in_the_sweep_tables() -> None:
    from linli.api import api

    problems = unlisted_operations(operations(api.get_openapi_schema(path_prefix=API_PREFIX)))
    assert not problems, "\n".join(problems)


def sweep_api(c2: C2) -> None:
    """The API sweep; run by ``test_scope_sweep_api.py`` so that xdist runs it beside the page sweep."""
    # given
    started = time.monotonic()
    admin = logged_in(c2.personas.admin)
    schema = admin.get(f"{API_PREFIX}/openapi.json").json()
    ops = operations(schema)
    problems = unlisted_operations(ops)
    assert not problems, "\n".join(problems)
    tokens = {
        persona: api_token_create(user=getattr(c2.personas, persona), name="t")[1] for persona in (*REFUSED, CONTROL)
    }
    tally = Tally()

    # when
    for operation in ops:
        if operation.params:
            sweep_operation(c2, tokens, operation, tally)
        else:
            for case in API_LISTS[operation.key](c2):
                sweep_list(c2, tokens, operation, case, tally)
    for operation in ops:
        if operation.params:
            control_operation(c2, tokens[CONTROL], operation, tally)
        else:
            for case in API_LISTS[operation.key](c2):
                control_list(c2, tokens[CONTROL], operation, case, tally)

    # then
    print(
        f"\nAPI sweep: {len(ops)} operations, {tally.urls} URLs, {tally.requests} refused calls as "
        f"{len(REFUSED)} accounts, {time.monotonic() - started:.1f} s"
    )
    assert not tally.findings, "\n".join(tally.findings)
