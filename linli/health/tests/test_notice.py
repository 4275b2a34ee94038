"""The quarantine order notice (H2–H4): one A4 page with the person, the dates, the tests, the temperature
clock and the phones, and a QR that scans back to the order (decoded with zxing-cpp from the PDF's image)."""

from __future__ import annotations

import datetime
import io
import os
from decimal import Decimal

import pytest
from pypdf import PdfReader

from linli.health.choices import Category, Place
from linli.health.choices import TestResult as Result  # aliased: pytest would collect a Test* name
from linli.health.models import HealthSettings, IsolationSite, OrderExtension, QuarantineOrder, household_kwargs
from linli.health.models import TestTask as Task
from linli.health.notice import order_notice_pdf, order_reference, parse_order_reference
from linli.lib.idnumbers import mask_id_number
from linli.lib.testing import Personas, qr_texts
from linli.organisation.models import GroupKind, WorkingGroup
from linli.registry.models import Person

pytestmark = pytest.mark.django_db
A4_POINTS = (595.3, 841.9)
START = datetime.date(2026, 11, 3)


def read(pdf: bytes) -> PdfReader:
    assert pdf[:5] == b"%PDF-"
    if os.environ.get("LINLI_KEEP_NOTICE"):  # to look at it: pdftoppm -png -r 60 <file> /tmp/notice
        with open(os.environ["LINLI_KEEP_NOTICE"], "wb") as out:
            out.write(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width), 1), round(float(box.height), 1)) == A4_POINTS
    return reader


def decoded_qrs(reader: PdfReader) -> list[str]:
    found: list[str] = []
    for image in reader.pages[0].images:
        picture = image.image
        assert picture is not None
        found.extend(qr_texts(picture.convert("L")))
    return found


def householder(personas: Personas) -> Person:
    return Person.objects.get(household=personas.resident_household, relation="householder")


def make_order(person: Person, **fields: object) -> QuarantineOrder:
    values: dict[str, object] = {
        "category": Category.MEDIUM_RISK_RETURNEE,
        "place": Place.HOME,
        "starts_on": START,
        "days": 14,
        "planned_end": START + datetime.timedelta(days=14),
        "reports_per_day": 2,
        "holds_pass": True,
        **fields,
    }
    return QuarantineOrder.objects.create(person=person, **household_kwargs(person.household), **values)


@pytest.fixture
def centralized(personas: Personas) -> QuarantineOrder:
    """A high-risk returnee in room 305 of a site: three tests, one negative, and a three-day extension."""
    tree = personas.tree
    person = householder(personas)
    site = IsolationSite.objects.create(
        street=tree.street, name="和平隔离酒店", address="和平路1号", rooms=120, phone="0551-12345678"
    )
    order = make_order(
        person,
        category=Category.HIGH_RISK_RETURNEE,
        place=Place.CENTRALIZED,
        site=site,
        room="305",
        planned_end=datetime.date(2026, 11, 20),
        holds_pass=False,
    )
    for sequence, day in enumerate((4, 10, 16), start=1):
        Task.objects.create(
            person=person,
            order=order,
            sequence=sequence,
            due_on=datetime.date(2026, 11, day),
            result=Result.NEGATIVE if sequence == 1 else Result.PENDING,
            **household_kwargs(person.household),
        )
    OrderExtension.objects.create(
        order=order,
        days=3,
        reason="第三次核酸结果未出",
        previous_end=datetime.date(2026, 11, 17),
        new_end=datetime.date(2026, 11, 20),
    )
    HealthSettings.objects.create(
        street=tree.street,
        morning_slot=datetime.time(8, 30),
        afternoon_slot=datetime.time(14, 30),
        report_deadline=datetime.time(15, 45),
        fever_threshold=Decimal("37.2"),
    )
    WorkingGroup.objects.create(
        street=tree.street,
        community=tree.c1,
        kind=GroupKind.LEADING,
        name="幸福社区疫情防控领导小组",
        duties="统筹",
        duty_phone="0551-88886666",
    )
    return order


def test_centralized_notice_shows_person_place_dates_tests_clock_and_phones(centralized: QuarantineOrder) -> None:
    # when
    reader = read(order_notice_pdf(centralized, today=datetime.date(2026, 11, 3)))

    # then
    text = reader.pages[0].extract_text()
    compact = "".join(text.split())  # table cells may wrap a long value
    person = centralized.person
    assert "集中隔离医学观察告知书" in text
    assert person.name in text
    assert person.id_number and mask_id_number(person.id_number) in text
    assert person.id_number not in compact  # only the masked number is printed
    assert "幸福社区阳光小区1号楼1单元101" in compact
    assert "高风险地区返乡人员" in text
    assert "和平隔离酒店305房间" in compact and "和平路1号" in text
    assert "2026年11月3日" in text  # start
    assert "2026年11月20日" in text  # planned end, after the extension
    assert "14天" in text
    assert "第3次" in text and "2026年11月16日" in text and "阴性" in text and "待检测" in text
    # the street's clock, not the defaults
    assert "08:30、14:30" in text and "15:45" in text and "37.2" in text
    assert "09:00" not in text and "37.3" not in text
    assert "0551-12345678" in text  # the site
    assert "0551-88886666" in text  # the community's duty phone
    assert "第三次核酸结果未出" in compact and "2026年11月17日" in compact  # the extension


def test_qr_scans_back_to_the_order(centralized: QuarantineOrder) -> None:
    reader = read(order_notice_pdf(centralized))

    assert decoded_qrs(reader) == [f"LLQ:{centralized.pk}"]
    assert parse_order_reference(decoded_qrs(reader)[0]) == centralized.pk
    assert f"LLQ:{centralized.pk}" in reader.pages[0].extract_text()


def test_home_order_of_a_street_without_settings_uses_the_default_clock(personas: Personas) -> None:
    # given: no HealthSettings row, no duty phone, no tests, one report a day
    order = make_order(householder(personas), reports_per_day=1)

    # when
    text = read(order_notice_pdf(order)).pages[0].extract_text()

    # then
    assert "居家隔离医学观察告知书" in text
    assert "中风险地区返乡人员" in text
    assert "每日09:00各测量体温一次，16:00前" in "".join(text.split())
    assert "15:00" not in text  # no afternoon slot
    assert "37.3" in text
    assert "暂无核酸检测安排" in text
    assert "请立即联系幸福社区" in text
    assert "通行证暂停使用" in text
    assert "延期记录" not in text


def test_a_long_test_list_is_shrunk_onto_one_page(centralized: QuarantineOrder) -> None:
    person = centralized.person
    for sequence in range(4, 31):
        Task.objects.create(
            person=person,
            order=centralized,
            sequence=sequence,
            due_on=START + datetime.timedelta(days=sequence),
            **household_kwargs(person.household),
        )

    reader = read(order_notice_pdf(centralized))

    assert "第30次" in reader.pages[0].extract_text()
    assert decoded_qrs(reader) == [order_reference(centralized.pk)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("LLQ:42", 42), (" llq:7\n", 7), ("LLQ:", None), ("LLQ:0", None), ("LLQ:-3", None), ("LLQ:４２", None)],
)
def test_order_reference_parsing(text: str, expected: int | None) -> None:
    assert parse_order_reference(text) == expected


def test_a_name_with_markup_is_printed_as_text(personas: Personas) -> None:
    person = householder(personas)
    person.name = "<b>王&五</b>"
    person.save()

    text = read(order_notice_pdf(make_order(person))).pages[0].extract_text()

    assert "<b>王&五</b>" in text
