"""The duty roster (A8): default shifts, assignments, gaps flagged ahead, signing in and out."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.accounts.choices import Role
from linli.audit.models import AuditEvent
from linli.gate import duty, quota, services
from linli.gate.models import Checkpoint, DutyAssignment, Shift
from linli.lib.testing import Personas, make_phone, make_user

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 11, 23)


def at(date: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(date, datetime.time(hour, minute), tzinfo=quota.local_zone())


@pytest.fixture
def checkpoint(personas: Personas) -> Checkpoint:
    checkpoint = services.checkpoint_create(compound=personas.tree.p1, name="东门", actor=personas.community_worker)
    personas.gate_guard.checkpoint = checkpoint
    personas.gate_guard.save()
    return checkpoint


def shift(checkpoint: Checkpoint, name: str) -> Shift:
    return Shift.objects.get(checkpoint=checkpoint, name=name)


def test_a_new_checkpoint_gets_the_three_default_shifts_once(checkpoint: Checkpoint) -> None:
    again = duty.shifts_create_default(checkpoint)

    shifts = [(s.name, s.starts, s.ends, s.min_staff) for s in Shift.objects.filter(checkpoint=checkpoint)]
    assert shifts == [
        ("白班", datetime.time(8), datetime.time(17), 4),
        ("晚班", datetime.time(17), datetime.time(20), 4),
        ("夜班", datetime.time(20), datetime.time(8), 2),
    ]
    assert len(again) == 3


def test_edited_shifts_are_not_reset_by_the_defaults(checkpoint: Checkpoint, personas: Personas) -> None:
    duty.shift_update(shift=shift(checkpoint, "白班"), actor=personas.community_worker, name="早班", min_staff=5)

    duty.shifts_create_default(checkpoint)

    assert set(Shift.objects.filter(checkpoint=checkpoint).values_list("name", flat=True)) == {"早班", "晚班", "夜班"}


def test_the_night_shift_belongs_to_the_day_it_starts(checkpoint: Checkpoint) -> None:
    start, end = duty.shift_bounds(shift(checkpoint, "夜班"), DAY)

    assert (start, end) == (at(DAY, 20), at(DAY + datetime.timedelta(days=1), 8))


def test_shift_validation_messages(checkpoint: Checkpoint, personas: Personas) -> None:
    with pytest.raises(ValidationError) as error:
        duty.shift_create(
            checkpoint=checkpoint,
            actor=personas.community_worker,
            name="白班",
            starts=datetime.time(9),
            ends=datetime.time(9),
            min_staff=0,
        )

    assert error.value.message_dict == {
        "name": ["本卡口已有同名班次"],
        "ends": ["开始和结束时间不能相同"],
        "min_staff": ["最少在岗人数至少为1人"],
    }


def test_guard_and_volunteer_are_assigned_and_the_gap_is_flagged_ahead(
    checkpoint: Checkpoint, personas: Personas
) -> None:
    # given: the day shift needs 4
    day_shift = shift(checkpoint, "白班")
    now = at(DAY, 7)

    # when
    duty.assignment_add(shift=day_shift, date=DAY, actor=personas.community_worker, user=personas.gate_guard, now=now)
    duty.assignment_add(
        shift=day_shift,
        date=DAY,
        actor=personas.community_worker,
        volunteer_name="李志愿",
        volunteer_phone="139 0000 1111",
        now=now,
    )
    week = duty.roster(checkpoint, DAY - datetime.timedelta(days=1), now=now)

    # then
    cells = {(cell.shift.name, cell.date): cell for _shift, row in week.rows for cell in row}
    today = cells[("白班", DAY)]
    assert (today.count, today.missing, today.gap, today.is_today) == (2, 2, True, True)
    assert not cells[("白班", DAY - datetime.timedelta(days=1))].gap  # ended: no longer flagged
    assert cells[("夜班", DAY - datetime.timedelta(days=1))].gap  # last night's shift runs until 08:00
    assert cells[("夜班", DAY + datetime.timedelta(days=3))].missing == 2
    assert len(week.gaps) == 3 * 7 - 2  # everything ahead is short but yesterday's day and evening shifts
    volunteer = DutyAssignment.objects.get(volunteer_name="李志愿")
    assert volunteer.volunteer_phone == "13900001111"
    assert duty.assignment_label(volunteer) == "李志愿（志愿者 139****1111）"


def test_assignment_refusals(checkpoint: Checkpoint, personas: Personas) -> None:
    day_shift = shift(checkpoint, "白班")
    now = at(DAY, 7)
    worker = personas.community_worker
    duty.assignment_add(shift=day_shift, date=DAY, actor=worker, user=personas.gate_guard, now=now)
    other_guard = make_user("guard2", Role.GATE_GUARD, personas.tree.p2)

    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({"user": personas.gate_guard}, {"user": ["值守 已在该班次"]}),
        ({"user": personas.outsider}, {"user": ["该账号不在本卡口的负责范围内，不能排班"]}),
        ({"user": other_guard}, {"user": ["该账号不在本卡口的负责范围内，不能排班"]}),
        ({"user": personas.resident}, {"user": ["该账号不在本卡口的负责范围内，不能排班"]}),
        ({"volunteer_name": "王", "volunteer_phone": "12345"}, {"volunteer_phone": ["手机号应为以1开头的11位数字"]}),
        ({"volunteer_name": "王"}, {"volunteer_phone": ["请填写志愿者的手机号"]}),
        ({}, {"user": ["请选择值守人员，或填写志愿者姓名和电话"]}),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ValidationError) as error:
            duty.assignment_add(shift=day_shift, date=DAY, actor=worker, now=now, **kwargs)
        assert error.value.message_dict == expected, kwargs
    with pytest.raises(ValidationError) as ended:
        duty.assignment_add(shift=day_shift, date=DAY, actor=worker, user=personas.grid_worker, now=at(DAY, 18))
    assert ended.value.message_dict == {"date": ["该日期的班次已经结束，不能再排班"]}
    assert DutyAssignment.objects.count() == 1


def test_guard_signs_in_and_out_only_of_their_own_shift_near_its_time(
    checkpoint: Checkpoint, personas: Personas
) -> None:
    # given: the guard on the night shift of DAY (20:00 → 08:00 the next morning)
    night = shift(checkpoint, "夜班")
    assignment = duty.assignment_add(
        shift=night, date=DAY, actor=personas.community_worker, user=personas.gate_guard, now=at(DAY, 9)
    )
    guard = personas.gate_guard
    next_day = DAY + datetime.timedelta(days=1)

    # then: refusals with the reason
    with pytest.raises(duty.DutyError, match="还没到签到时间：夜班 11-23 20:00 开始"):
        duty.sign_in(assignment=assignment, user=guard, now=at(DAY, 19, 20))
    with pytest.raises(duty.DutyError, match="这不是您的班次"):
        duty.sign_in(assignment=assignment, user=personas.grid_worker, now=at(DAY, 20))
    with pytest.raises(duty.DutyError, match="请先签到"):
        duty.sign_out(assignment=assignment, user=guard, now=at(DAY, 21))

    # when: in at 19:35 (within 30 minutes before), out the next morning
    duty.sign_in(assignment=assignment, user=guard, now=at(DAY, 19, 35))
    with pytest.raises(duty.DutyError, match="您已签到"):
        duty.sign_in(assignment=assignment, user=guard, now=at(DAY, 20))
    duty.sign_out(assignment=assignment, user=guard, now=at(next_day, 8, 5))
    with pytest.raises(duty.DutyError, match="您已签退"):
        duty.sign_out(assignment=assignment, user=guard, now=at(next_day, 8, 6))

    # then
    assignment.refresh_from_db()
    assert assignment.signed_in_at == at(DAY, 19, 35)
    assert assignment.signed_out_at == at(next_day, 8, 5)
    with pytest.raises(duty.DutyError, match="已签到的排班不能移除"):
        duty.assignment_remove(assignment=assignment, actor=personas.community_worker)


def test_late_sign_in_and_sign_out_are_refused(checkpoint: Checkpoint, personas: Personas) -> None:
    night = shift(checkpoint, "夜班")
    assignment = duty.assignment_add(
        shift=night, date=DAY, actor=personas.community_worker, user=personas.gate_guard, now=at(DAY, 9)
    )
    next_day = DAY + datetime.timedelta(days=1)

    duty.sign_in(assignment=assignment, user=personas.gate_guard, now=at(next_day, 2))  # overnight, still on
    with pytest.raises(duty.DutyError, match="已超过签退时间"):
        duty.sign_out(assignment=assignment, user=personas.gate_guard, now=at(next_day, 10, 1))

    late = duty.assignment_add(
        shift=night, date=next_day, actor=personas.community_worker, user=personas.grid_worker, now=at(DAY, 9)
    )
    with pytest.raises(duty.DutyError, match="该班次已于 11-25 08:00 结束"):
        duty.sign_in(assignment=late, user=personas.grid_worker, now=at(next_day + datetime.timedelta(days=1), 8))


# --- pages ---------------------------------------------------------------------------------------------


def test_roster_page_shows_the_week_with_gaps_and_today(
    checkpoint: Checkpoint, personas: Personas, client_for: Any
) -> None:
    response = client_for(personas.community_worker).get(reverse("gate:duty", kwargs={"pk": checkpoint.pk}))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="gaps"' in page and "班次人手不足" in page
    assert 'class="today' in page
    assert page.count("缺人") >= 14


@pytest.mark.parametrize(("hour", "first_day"), [(4, DAY - datetime.timedelta(days=1)), (9, DAY)])
def test_the_roster_opens_on_the_shift_on_duty_now(
    checkpoint: Checkpoint, personas: Personas, client_for: Any, monkeypatch: pytest.MonkeyPatch, hour: int, first_day
) -> None:
    # given: a volunteer on last night's shift (20:00–08:00)
    night = shift(checkpoint, "夜班")
    duty.assignment_add(
        shift=night,
        date=DAY - datetime.timedelta(days=1),
        actor=personas.community_worker,
        volunteer_name="夜志愿",
        volunteer_phone="13900002222",
        now=at(DAY - datetime.timedelta(days=1), 12),
    )
    client = client_for(personas.community_worker)

    # when: the roster is opened without a date, at 04:00 (the night shift still on) or 09:00
    monkeypatch.setattr(timezone, "now", lambda: at(DAY, hour))
    week = client.get(reverse("gate:duty", kwargs={"pk": checkpoint.pk})).context["week"]

    # then: at 04:00 it starts with yesterday, whose night shift is the one on the gate now
    assert week.dates[0] == first_day
    names = {a.volunteer_name for _shift, row in week.rows for cell in row for a in cell.assignments}
    assert ("夜志愿" in names) is (hour == 4)
    # and the API's roster, asked without a start, likewise
    assert client.get(f"/api/v1/gate/checkpoints/{checkpoint.pk}/roster").json()["start"] == first_day.isoformat()


def test_worker_assigns_a_volunteer_on_the_page(checkpoint: Checkpoint, personas: Personas, client_for: Any) -> None:
    client = client_for(personas.community_worker)
    url = reverse("gate:duty", kwargs={"pk": checkpoint.pk})
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    body = {
        "action": "assign",
        "assign-shift": shift(checkpoint, "白班").pk,
        "assign-date": tomorrow.isoformat(),
        "assign-volunteer_name": "赵志愿",
        "assign-volunteer_phone": "13900002222",
    }

    assert client.post(url, body).status_code == 302
    bad = client.post(url, {**body, "assign-volunteer_phone": "1234"})

    assert DutyAssignment.objects.filter(volunteer_name="赵志愿", date=tomorrow).count() == 1
    assert bad.status_code == 400 and "手机号应为以1开头的11位数字" in bad.content.decode()
    assert "赵志愿（志愿者 139****2222）" in client.get(url).content.decode()
    assert AuditEvent.objects.filter(model="gate.DutyAssignment").count() == 1


def test_worker_adds_edits_and_deletes_a_shift(checkpoint: Checkpoint, personas: Personas, client_for: Any) -> None:
    client = client_for(personas.community_worker)
    url = reverse("gate:duty", kwargs={"pk": checkpoint.pk})

    client.post(
        url,
        {
            "action": "shift_add",
            "shift-name": "加班",
            "shift-starts": "12:00",
            "shift-ends": "14:00",
            "shift-min_staff": "1",
        },
    )
    extra = shift(checkpoint, "加班")
    client.post(
        url,
        {
            "action": "shift_save",
            "shift": extra.pk,
            f"s{extra.pk}-name": "午班",
            f"s{extra.pk}-starts": "12:00",
            f"s{extra.pk}-ends": "13:00",
            f"s{extra.pk}-min_staff": "2",
        },
    )
    extra.refresh_from_db()
    assert (extra.name, extra.ends, extra.min_staff) == ("午班", datetime.time(13), 2)
    client.post(url, {"action": "shift_delete", "shift": extra.pk})
    assert not Shift.objects.filter(pk=extra.pk).exists()


def test_guard_sees_the_roster_but_cannot_arrange_it(
    checkpoint: Checkpoint, personas: Personas, client_for: Any
) -> None:
    client = client_for(personas.gate_guard)
    url = reverse("gate:duty", kwargs={"pk": checkpoint.pk})

    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "shift_delete", "shift": shift(checkpoint, "白班").pk}).status_code == 403
    assert Shift.objects.filter(checkpoint=checkpoint).count() == 3


def test_roster_of_another_community_is_not_found(personas: Personas, client_for: Any) -> None:
    theirs = services.checkpoint_create(compound=personas.tree.p3, name="北门", actor=personas.outsider)
    theirs_shift = Shift.objects.filter(checkpoint=theirs).first()
    assert theirs_shift is not None
    assignment = duty.assignment_add(
        shift=theirs_shift,
        date=duty.next_date(theirs_shift),
        actor=personas.outsider,
        volunteer_name="外志愿",
        volunteer_phone=make_phone(),
    )
    client = client_for(personas.community_worker)

    assert client.get(reverse("gate:duty", kwargs={"pk": theirs.pk})).status_code == 404
    assert client.post(reverse("gate:duty", kwargs={"pk": theirs.pk}), {"action": "shift_delete"}).status_code == 404
    assert client.post(reverse("gate:duty_sign", kwargs={"pk": assignment.pk}), {"action": "in"}).status_code == 404
    assert "外志愿" not in client.get(reverse("gate:duty_mine")).content.decode()


def test_guard_signs_in_on_the_page_and_a_refusal_is_explained(
    checkpoint: Checkpoint, personas: Personas, client_for: Any
) -> None:
    # given: a shift running now
    now = timezone.localtime()
    current = duty.shift_create(
        checkpoint=checkpoint,
        actor=personas.community_worker,
        name="当前班",
        starts=(now - datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0),
        ends=(now + datetime.timedelta(hours=2)).time().replace(second=0, microsecond=0),
        min_staff=1,
    )
    mine = duty.assignment_add(
        shift=current,
        date=(now - datetime.timedelta(hours=1)).date(),
        actor=personas.community_worker,
        user=personas.gate_guard,
    )
    client = client_for(personas.gate_guard)

    # when
    listed = client.get(reverse("gate:duty_mine")).content.decode()
    signed = client.post(reverse("gate:duty_sign", kwargs={"pk": mine.pk}), {"action": "in"}, follow=True)
    again = client.post(reverse("gate:duty_sign", kwargs={"pk": mine.pk}), {"action": "in"}, follow=True)

    # then
    assert "当前班" in listed and 'value="in"' in listed
    assert "签到成功" in signed.content.decode()
    assert "您已签到，无需重复签到" in again.content.decode()
    mine.refresh_from_db()
    assert mine.signed_in_at is not None


# --- API -----------------------------------------------------------------------------------------------


def api(client: Any, method: str, url: str, body: Any = None) -> Any:
    return client.generic(method, f"/api/v1/gate{url}", json.dumps(body or {}), content_type="application/json")


def test_api_roster_assign_and_sign(checkpoint: Checkpoint, personas: Personas, client_for: Any) -> None:
    worker = client_for(personas.community_worker)
    night = shift(checkpoint, "夜班")

    shifts = api(worker, "GET", f"/checkpoints/{checkpoint.pk}/shifts").json()
    added = api(worker, "POST", f"/shifts/{night.pk}/assignments", {"user_id": personas.gate_guard.pk})
    volunteer = api(worker, "POST", f"/shifts/{night.pk}/assignments", {"name": "钱志愿", "phone": "13900003333"})
    bad = api(worker, "POST", f"/shifts/{night.pk}/assignments", {"name": "孙", "phone": "1"})
    stranger = api(worker, "POST", f"/shifts/{night.pk}/assignments", {"user_id": personas.outsider.pk})
    week = api(worker, "GET", f"/checkpoints/{checkpoint.pk}/roster").json()
    mine = api(client_for(personas.gate_guard), "GET", "/duty/mine").json()
    early = api(client_for(personas.gate_guard), "POST", f"/assignments/{added.json()['id']}/sign-in")

    assert [s["name"] for s in shifts] == ["白班", "晚班", "夜班"] and shifts[2]["overnight"] is True
    assert added.status_code == 201 and added.json()["person"] == "值守"
    assert volunteer.status_code == 201 and volunteer.json()["person"] == "钱志愿（志愿者 139****3333）"
    assert bad.status_code == 400 and bad.json()["errors"]["volunteer_phone"] == ["手机号应为以1开头的11位数字"]
    assert stranger.status_code == 400
    night_cell = next(c for c in week["cells"] if c["shift_id"] == night.pk and c["date"] == added.json()["date"])
    assert (night_cell["assigned"], night_cell["missing"]) == (2, 0)
    assert week["gaps"] >= 1
    assert [a["id"] for a in mine] == [added.json()["id"]]
    if timezone.now() < duty.sign_window(DutyAssignment.objects.get(pk=added.json()["id"]))[0]:
        assert early.status_code == 400 and "还没到签到时间" in early.json()["detail"]


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_api_duty_is_scoped_and_role_limited(checkpoint: Checkpoint, personas: Personas) -> None:
    night = shift(checkpoint, "夜班")
    outsider = logged_in(personas.outsider)
    guard = logged_in(personas.gate_guard)

    assert api(outsider, "GET", f"/checkpoints/{checkpoint.pk}/roster").status_code == 404
    assert api(outsider, "GET", f"/checkpoints/{checkpoint.pk}/shifts").status_code == 404
    assert api(outsider, "PATCH", f"/shifts/{night.pk}", {"min_staff": 1}).status_code == 404
    assert (
        api(outsider, "POST", f"/shifts/{night.pk}/assignments", {"name": "外", "phone": make_phone()}).status_code
        == 404
    )
    assert api(guard, "PATCH", f"/shifts/{night.pk}", {"min_staff": 1}).status_code == 403
    assert (
        api(
            guard,
            "POST",
            f"/checkpoints/{checkpoint.pk}/shifts",
            {"name": "x", "starts": "08:00", "ends": "09:00", "min_staff": 1},
        ).status_code
        == 403
    )
    night.refresh_from_db()
    assert night.min_staff == 2
    assert not DutyAssignment.objects.exists()


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01"])
def test_a_date_at_the_end_of_the_calendar_is_not_a_server_error(
    checkpoint: Checkpoint, personas: Personas, date: str
) -> None:
    # given: a community worker who types a far date into the roster's address or the API
    worker = logged_in(personas.community_worker)
    night = shift(checkpoint, "夜班")

    # when: the roster page and the API are asked for it, and a volunteer is put on its night shift
    page = worker.get(reverse("gate:duty", kwargs={"pk": checkpoint.pk}), {"start": date})
    week = api(worker, "GET", f"/checkpoints/{checkpoint.pk}/roster?start={date}")
    volunteer = {"name": "钱志愿", "phone": "13900003333", "date": date}
    added = api(worker, "POST", f"/shifts/{night.pk}/assignments", volunteer)

    # then: the page opens on the current week, and the API refuses the date in Chinese, storing nothing
    assert page.status_code == 200 and page.context["start"] == duty.duty_day(checkpoint.shifts.all())
    assert week.status_code == 400 and week.json()["detail"] == "日期应在 2000-01-01 到 2099-12-31 之间"
    assert added.status_code == 400 and added.json()["errors"]["date"] == ["日期应在 2000-01-01 到 2099-12-31 之间"]
    assert not DutyAssignment.objects.exists()


def test_api_refuses_true_for_the_minimum_staffing(checkpoint: Checkpoint, personas: Personas) -> None:
    # given: the night shift needs at least 2
    worker = logged_in(personas.community_worker)
    night = shift(checkpoint, "夜班")

    # when: a client sends a boolean for the minimum, on an edit and on a new shift
    edited = api(worker, "PATCH", f"/shifts/{night.pk}", {"min_staff": True})
    added = api(
        worker,
        "POST",
        f"/checkpoints/{checkpoint.pk}/shifts",
        {"name": "加班", "starts": "12:00", "ends": "13:00", "min_staff": True},
    )

    # then: both are refused; the minimum is not quietly 1, which would hide the night's gaps
    assert (edited.status_code, added.status_code) == (422, 422)
    night.refresh_from_db()
    assert night.min_staff == 2 and not Shift.objects.filter(name="加班").exists()
