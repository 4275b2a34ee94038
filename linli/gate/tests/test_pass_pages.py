"""The pass pages (A2): a household's pass, issue and reissue, revoke, holds, bulk issue, tickets, my pass."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.gate import keys, pass_admin, passes, services
from linli.gate.choices import HoldReason, QuotaMode
from linli.gate.models import HouseholdHold, HouseholdPass, OutingTicket
from linli.gate.tests.conftest import Gate
from linli.lib.testing import make_id_number
from linli.registry import services as registry_services
from linli.registry.models import Household, Person

pytestmark = pytest.mark.django_db
ClientFor = Callable[[Any], Client]


def pass_url(household: Household) -> str:
    return reverse("gate:household_pass", kwargs={"pk": household.pk})


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


# --- one household ---


def test_household_page_shows_the_current_pass_with_its_number_qr_and_members(
    gate: Gate, client_for: ClientFor
) -> None:
    response = client_for(gate.personas.grid_worker).get(pass_url(gate.household))

    assert response.status_code == 200
    text = response.content.decode()
    assert passes.format_number(gate.household_pass.number) in text
    assert "<svg" in text
    assert gate.members[0].name in text
    assert "2027-01-30" in text  # valid until: 90 days from 2026-11-01
    assert response.context["status"] == "valid"


def test_reissue_names_new_members_and_revokes_the_previous_pass(gate: Gate, client_for: ClientFor) -> None:
    # given
    client = client_for(gate.personas.community_worker)
    old = gate.household_pass

    # when
    response = client.post(
        pass_url(gate.household), {"action": "issue", "members": [m.pk for m in gate.members]}, follow=True
    )

    # then
    assert response.status_code == 200
    new = HouseholdPass.objects.get(household=gate.household, is_active=True)
    assert new.issue_no == old.issue_no + 1
    assert set(new.members.values_list("pk", flat=True)) == {m.pk for m in gate.members}
    old.refresh_from_db()
    assert not old.is_active and old.revoked_reason == "重新发证"
    assert any("已发放第 2 次通行证" in m for m in messages_of(response))
    payload = passes.verify(new.token, keys.public_keys())
    assert payload.subject == gate.household.pk and payload.issue_no == 2


def test_issue_needs_one_to_eight_members_of_the_household(gate: Gate, client_for: ClientFor) -> None:
    client = client_for(gate.personas.community_worker)
    for index in range(8):
        registry_services.person_create(
            household=gate.household, name=f"成员{index}", id_number=make_id_number("19900101"), relation="child"
        )
    everyone = list(gate.household.members.values_list("pk", flat=True))
    stranger = Person.objects.exclude(household=gate.household).first()
    assert stranger is not None and len(everyone) == 10

    none = client.post(pass_url(gate.household), {"action": "issue"})
    too_many = client.post(pass_url(gate.household), {"action": "issue", "members": everyone[:9]})
    foreign = client.post(pass_url(gate.household), {"action": "issue", "members": [stranger.pk]})

    assert none.status_code == too_many.status_code == foreign.status_code == 400
    assert "请至少指定一名外出人员" in none.content.decode()
    assert "指定外出人员最多 8 人" in too_many.content.decode()
    assert "所选人员不是本户成员" in foreign.content.decode()
    assert HouseholdPass.objects.filter(household=gate.household).count() == 1  # nothing issued

    eight = client.post(pass_url(gate.household), {"action": "issue", "members": everyone[:8]})
    assert eight.status_code == 302
    assert HouseholdPass.objects.get(household=gate.household, is_active=True).members.count() == 8


def test_no_pass_while_the_household_is_on_hold_until_released(gate: Gate, client_for: ClientFor) -> None:
    # given: the household is sealed, with a note
    client = client_for(gate.personas.community_worker)
    response = client.post(pass_url(gate.household), {"action": "hold_set", "reason": "sealed", "note": "楼栋封控"})
    assert response.status_code == 302
    hold = HouseholdHold.objects.get(household=gate.household)
    assert (hold.reason, hold.note, hold.started_by) == ("sealed", "楼栋封控", gate.personas.community_worker)

    # when: someone tries to issue a pass
    page = client.get(pass_url(gate.household))
    refused = client.post(pass_url(gate.household), {"action": "issue", "members": [gate.members[0].pk]})

    # then: the page says so and nothing is issued
    assert page.context["status"] == "held"
    assert "本户处于封控中" in page.content.decode()
    assert refused.status_code == 400
    assert "本户处于封控中，解除前不能发放通行证" in messages_of(refused)
    assert HouseholdPass.objects.filter(household=gate.household).count() == 1

    # and after release it works again
    released = client.post(pass_url(gate.household), {"action": "hold_release", "reason": ""}, follow=True)
    assert "已解除 1 项暂停。" in messages_of(released)
    assert services.active_hold(gate.household.pk) is None
    again = client.post(pass_url(gate.household), {"action": "issue", "members": [gate.members[0].pk]})
    assert again.status_code == 302


def test_hold_with_an_unknown_reason_is_refused_in_chinese(gate: Gate, client_for: ClientFor) -> None:
    response = client_for(gate.personas.community_worker).post(
        pass_url(gate.household), {"action": "hold_set", "reason": "party"}
    )
    assert response.status_code == 400
    assert "未知的暂停原因" in response.content.decode()
    assert not HouseholdHold.objects.exists()


def test_revoke_needs_a_reason_and_then_the_gate_refuses_the_card(gate: Gate, client_for: ClientFor) -> None:
    client = client_for(gate.personas.community_worker)

    missing = client.post(pass_url(gate.household), {"action": "revoke", "reason": ""})
    assert missing.status_code == 400
    assert "请填写作废原因" in missing.content.decode()

    done = client.post(pass_url(gate.household), {"action": "revoke", "reason": "卡片遗失"}, follow=True)
    gate.household_pass.refresh_from_db()
    assert not gate.household_pass.is_active and gate.household_pass.revoked_reason == "卡片遗失"
    assert "通行证已作废，卡口将拒绝这张卡。" in messages_of(done)
    assert done.context["status"] == "none"

    again = client.post(pass_url(gate.household), {"action": "revoke", "reason": "再次"})
    assert again.status_code == 400
    assert "本户没有有效的通行证，无需作废" in messages_of(again)


def test_household_pass_page_is_for_registry_editors_in_scope(gate: Gate, client_for: ClientFor) -> None:
    personas = gate.personas
    url = pass_url(gate.household)
    assert client_for(personas.street_command).get(url).status_code == 200
    assert client_for(personas.outsider).get(url).status_code == 404  # C2's worker: as if missing
    for user in (personas.gate_guard, personas.building_lead, personas.medic, personas.supplier, personas.resident):
        assert client_for(user).get(url).status_code == 403, user
        assert client_for(user).post(url, {"action": "revoke", "reason": "x"}).status_code == 403, user
    gate.household_pass.refresh_from_db()
    assert gate.household_pass.is_active


def test_household_page_links_to_the_pass(gate: Gate, client_for: ClientFor) -> None:
    household_url = reverse("registry:household", kwargs={"pk": gate.household.pk})
    staff = client_for(gate.personas.community_worker).get(household_url).content.decode()
    assert pass_url(gate.household) in staff
    resident = client_for(gate.personas.resident).get(household_url).content.decode()
    assert reverse("gate:my_pass") in resident
    assert pass_url(gate.household) not in resident


# --- a compound ---


def test_bulk_issue_gives_every_household_without_a_valid_pass_one_naming_the_householder(
    gate: Gate, client_for: ClientFor
) -> None:
    # given: in 阳光小区 one household is sealed, one has nobody registered, one holds an expired pass
    tree = gate.personas.tree
    sealed = tree.households[f"{tree.b1.code}/1单元/102"]
    services.hold_set(household=sealed, reason=HoldReason.SEALED)
    empty = registry_services.household_create(unit=tree.units[f"{tree.b2.code}/1单元"], room="999")
    stale = tree.households[f"{tree.b2.code}/1单元/101"]
    stale_pass = services.pass_issue(
        household=stale, members=list(stale.members.all()), today=timezone.localdate() - datetime.timedelta(days=200)
    )
    client = client_for(gate.personas.grid_worker)
    url = reverse("gate:compound_passes", kwargs={"pk": tree.p1.pk})

    # when
    response = client.post(url, {"action": "issue_missing"}, follow=True)

    # then
    households = Household.objects.filter(compound=tree.p1)
    active = {p.household_id: p for p in HouseholdPass.objects.filter(compound_id=tree.p1.pk, is_active=True)}
    assert set(active) == {h.pk for h in households} - {sealed.pk, empty.pk}
    assert active[gate.household.pk] == gate.household_pass  # a valid pass is left alone
    stale_pass.refresh_from_db()
    assert not stale_pass.is_active and active[stale.pk].issue_no == 2
    for household_id, item in active.items():
        if household_id != gate.household.pk:
            assert [m.relation for m in item.members.all()] == ["householder"]
            assert passes.verify(item.token, keys.public_keys()).subject == household_id
    text = " ".join(messages_of(response))
    assert "已为 7 户发放通行证" in text and "1 户处于封控或居家观察" in text and "999" in text
    assert response.context["totals"]["valid"] == 8
    assert response.context["totals"]["held"] == 1
    assert HouseholdPass.objects.filter(compound_id=tree.p2.pk).count() == 0  # another compound: untouched


def test_bulk_issue_for_two_thousand_households_takes_a_handful_of_queries(gate: Gate) -> None:
    # given: a building of 2,000 households, each with a householder
    tree = gate.personas.tree
    unit = tree.units[f"{tree.b2.code}/1单元"]
    place = {f"{level}_id": getattr(unit, f"{level}_id") for level in ("street", "community", "grid", "compound")}
    Household.objects.bulk_create(
        [
            Household(code=f"bulk-{n}", room=f"B{n:04d}", unit=unit, building_id=unit.building_id, **place)
            for n in range(2000)
        ]
    )
    created = list(Household.objects.filter(code__startswith="bulk-").values_list("pk", flat=True))
    Person.objects.bulk_create([Person(household_id=pk, name="户主", relation="householder") for pk in created])

    # when
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        outcome = pass_admin.passes_issue_missing(tree.p1, gate.personas.community_worker)
    seconds = time.perf_counter() - started

    # then: rows are written in batches, not one query per household (SQLite caps an INSERT at 999
    # parameters, ~55 passes; PostgreSQL takes 500 per INSERT)
    assert outcome.issued == 2000 + 8
    assert HouseholdPass.objects.filter(household_id__in=created, is_active=True).count() == 2000
    assert len(queries) <= 80, len(queries)
    print(f"\nbulk issue of {outcome.issued} passes: {len(queries)} queries, {seconds:.2f} s")


def test_compound_page_lists_households_with_status_and_filters(gate: Gate, client_for: ClientFor) -> None:
    tree = gate.personas.tree
    services.hold_set(household=tree.households[f"{tree.b1.code}/1单元/102"], reason=HoldReason.HOME_OBSERVATION)
    client = client_for(gate.personas.community_worker)
    url = reverse("gate:compound_passes", kwargs={"pk": tree.p1.pk})

    everything = client.get(url)
    held = client.get(url, {"show": "held"})
    building = client.get(url, {"building": tree.b2.pk})

    assert everything.context["total"] == 9 and len(everything.context["rows"]) == 9
    assert [row.address for row in everything.context["rows"]][:3] == [
        "1号楼1单元101",
        "1号楼1单元102",
        "1号楼1单元201",
    ]
    assert [row.status_label for row in held.context["rows"]] == ["暂停（居家观察）"]
    assert {row.building_id for row in building.context["rows"]} == {tree.b2.pk}
    assert passes.format_number(gate.household_pass.number) in everything.content.decode()
    assert client_for(gate.personas.outsider).get(url).status_code == 404


def test_passes_index_counts_per_compound(gate: Gate, client_for: ClientFor) -> None:
    tree = gate.personas.tree
    services.hold_set(household=gate.household, reason=HoldReason.SEALED)
    response = client_for(gate.personas.community_worker).get(reverse("gate:passes"))
    rows = {row["compound"].name: row for row in response.context["rows"]}
    assert set(rows) == {tree.p1.name, tree.p2.name}  # C1's compounds only
    assert (rows["阳光小区"]["households"], rows["阳光小区"]["valid"], rows["阳光小区"]["held"]) == (9, 0, 1)
    assert rows["阳光小区"]["missing"] == 8


# --- tickets ---


def test_tickets_are_issued_once_per_period_to_households_not_on_hold(gate: Gate, client_for: ClientFor) -> None:
    tree = gate.personas.tree
    client = client_for(gate.personas.community_worker)
    url = reverse("gate:tickets", kwargs={"pk": tree.p1.pk})

    # not in ticket mode: refused with the reason
    refused = client.post(url, {"action": "issue"}, follow=True)
    assert any("不是出入券管理方式" in m for m in messages_of(refused))
    assert not OutingTicket.objects.exists()

    gate.rules.mode = QuotaMode.TICKET
    gate.rules.save()
    services.hold_set(household=gate.household, reason=HoldReason.HOME_OBSERVATION)
    first = client.post(url, {"action": "issue"}, follow=True)
    second = client.post(url, {"action": "issue"}, follow=True)
    following = client.post(url, {"action": "issue", "period": "next"})

    start = pass_admin.period_of(gate.rules)
    assert any("已发放 8 张出入券" in m for m in messages_of(first))
    assert any("已发放 0 张出入券" in m for m in messages_of(second))
    assert following["Location"].endswith("?period=next")
    tickets = OutingTicket.objects.filter(compound_id=tree.p1.pk, period_start=start)
    assert tickets.count() == 8 and not tickets.filter(household=gate.household).exists()
    later = start + datetime.timedelta(days=gate.rules.period_days)
    assert OutingTicket.objects.filter(period_start=later).count() == 8
    for ticket in tickets:
        payload = passes.verify(ticket.token, keys.public_keys())
        assert payload.kind == passes.Kind.TICKET and payload.valid_from == start
    page = client.get(url)
    assert page.context["issued"] == 8 and page.context["held"] == 1
    # the button says which period it issues
    assert "发放本期出入券" in page.content.decode()
    next_page = client.get(url + "?period=next").content.decode()
    assert "发放下一期出入券" in next_page and "发放本期出入券" not in next_page


# --- the resident ---


def test_resident_sees_the_pass_big_with_its_number(gate: Gate, client_for: ClientFor) -> None:
    response = client_for(gate.personas.resident).get(reverse("gate:my_pass"))
    text = response.content.decode()
    assert response.status_code == 200
    assert '<div class="qr"' in text and "<svg" in text
    assert passes.format_number(gate.household_pass.number) in text
    assert gate.members[0].name in text
    assert "每2天可外出1次，每次不超过3小时" in text


def test_resident_on_hold_gets_an_explanation_instead_of_a_qr(gate: Gate, client_for: ClientFor) -> None:
    services.hold_set(household=gate.household, reason=HoldReason.HOME_OBSERVATION, source="health")
    response = client_for(gate.personas.resident).get(reverse("gate:my_pass"))
    text = response.content.decode()
    assert "本户处于居家观察中" in text
    assert "请不要外出" in text
    assert "<svg" not in text
    assert passes.format_number(gate.household_pass.number) not in text


def test_resident_without_a_valid_pass_is_told_whom_to_ask(gate: Gate, client_for: ClientFor) -> None:
    services.pass_revoke(household_pass=gate.household_pass, reason="遗失")
    text = client_for(gate.personas.resident).get(reverse("gate:my_pass")).content.decode()
    assert "本户还没有通行证" in text and "请联系社区或网格员办理" in text and "<svg" not in text


def test_resident_in_ticket_mode_sees_this_periods_ticket(gate: Gate, client_for: ClientFor) -> None:
    gate.rules.mode = QuotaMode.TICKET
    gate.rules.save()
    client = client_for(gate.personas.resident)
    assert "本期出入券还没有发放" in client.get(reverse("gate:my_pass")).content.decode()

    ticket = services.ticket_issue(household=gate.household, period_start=pass_admin.period_of(gate.rules))
    text = client.get(reverse("gate:my_pass")).content.decode()
    assert passes.format_number(ticket.number) in text
    assert text.count("<svg") == 2  # the ticket and the pass

    ticket.collected_at = timezone.now()
    ticket.save()
    text = client.get(reverse("gate:my_pass")).content.decode()
    assert "本期出入券已于" in text and text.count("<svg") == 1


def test_my_pass_is_for_residents(gate: Gate, client_for: ClientFor) -> None:
    assert client_for(gate.personas.community_worker).get(reverse("gate:my_pass")).status_code == 403
