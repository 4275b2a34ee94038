"""The property company's emergency checklists (H8): three levels, unique codes, progress from done_items."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from linli.audit.models import AuditEvent
from linli.health import services
from linli.health.choices import EmergencyLevel
from linli.health.emergency import CHECKLISTS, checklist, items_for, progress
from linli.health.models import PropertyEmergency
from linli.lib.testing import Personas


def test_every_level_has_its_own_checklist() -> None:
    assert set(CHECKLISTS) == {3, 2, 1}
    for level in EmergencyLevel:
        items = items_for(level)
        assert len(items) >= 5, level
        assert all(str(item.text).strip() for item in items)
        assert all(item.code.startswith(f"l{int(level)}_") for item in items)


def test_codes_are_unique_across_all_levels() -> None:
    codes = [item.code for items in CHECKLISTS.values() for item in items]

    assert len(codes) == len(set(codes))


def test_level_3_is_the_seed_and_higher_levels_keep_the_lower_measures() -> None:
    # the seed spells out the level-3 procedure; levels 2 and 1 are mostly derived from its sections 4–7
    assert not any(item.derived for item in items_for(3))
    assert any(item.derived for item in items_for(2)) and any(not item.derived for item in items_for(2))
    assert items_for(2)[0].code == "l2_keep_level3"
    assert items_for(1)[0].code == "l1_keep_level2"
    assert "封闭管理" in "".join(str(item.text) for item in items_for(1))  # 7、2: the guards close the property


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError):
        items_for(4)


def test_items_for_returns_a_copy() -> None:
    items_for(3).clear()

    assert items_for(3)


@pytest.mark.django_db
def test_progress_counts_the_level_items_done(personas: Personas) -> None:
    # given: a level-2 emergency with two of its items done, one repeated, plus a level-3 code and junk
    tree = personas.tree
    level2 = items_for(2)
    emergency = PropertyEmergency.objects.create(
        street=tree.street,
        community=tree.c1,
        company="阳光物业",
        level=EmergencyLevel.LEVEL_2,
        set_at=timezone.make_aware(datetime.datetime(2026, 11, 3, 8)),
        done_items=[level2[0].code, level2[2].code, level2[2].code, items_for(3)[0].code, "no_such_item"],
    )
    emergency.refresh_from_db()

    # then
    assert progress(emergency) == (2, len(level2))
    states = checklist(emergency)
    assert [item for item, _ in states] == level2
    assert [done for _, done in states].count(True) == 2
    assert states[0][1] and not states[1][1] and states[2][1]

    # when: the property escalates to level 1, the level-2 codes no longer count
    emergency.level = EmergencyLevel.LEVEL_1
    emergency.save()
    assert progress(emergency) == (0, len(items_for(1)))

    emergency.done_items = [item.code for item in items_for(1)]
    assert progress(emergency) == (len(items_for(1)), len(items_for(1)))


@pytest.mark.django_db
def test_ticking_an_item_is_audited_in_the_emergencys_street_and_community(personas: Personas) -> None:
    # given
    tree = personas.tree
    emergency = services.emergency_set(community=tree.c2, company="阳光物业", level=3, actor=personas.street_command)
    item = items_for(3)[0].code

    # when
    services.emergency_tick(emergency, item=item, done=True, actor=personas.street_command)

    # then: the tick is in the community's log, as the level itself is
    events = AuditEvent.objects.filter(model="health.PropertyEmergency").order_by("pk")
    assert [(e.action, e.street_id, e.community_id) for e in events] == [
        ("create", tree.street.pk, tree.c2.pk),
        ("update", tree.street.pk, tree.c2.pk),
    ]
    assert events.last().changes == {"item": item, "done": True}  # type: ignore[union-attr]
