from linli.audit.models import AuditAction, AuditEvent
from linli.registry import services
from linli.registry.models import Person


def _person_in(household) -> Person:  # type: ignore[no-untyped-def]
    person = Person.objects.filter(household=household).first()
    assert person is not None
    return person


def test_a_change_is_logged_with_who_when_and_what(personas) -> None:  # type: ignore[no-untyped-def]
    person = _person_in(personas.resident_household)
    services.person_update(person=person, actor=personas.grid_worker, name="新名字", phone="13912345678")
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_pk=str(person.pk)).get()
    assert event.actor == personas.grid_worker
    assert event.changes["name"][1] == "新名字"
    assert event.community_id == personas.tree.c1.pk
    # the log shows that the phone changed, never the full number
    assert event.changes["phone"][1] == "139****5678"


def test_deleting_a_person_is_logged_with_the_old_values(personas) -> None:  # type: ignore[no-untyped-def]
    person = _person_in(personas.resident_household)
    name, pk = person.name, person.pk
    services.person_delete(person=person, actor=personas.community_worker)
    event = AuditEvent.objects.get(action=AuditAction.DELETE, object_pk=str(pk))
    assert event.changes["name"] == [name, None]


def test_the_audit_page_shows_only_the_users_community(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    mine = _person_in(personas.resident_household)
    theirs = Person.objects.filter(household__community=personas.tree.c2).first()
    assert theirs is not None
    services.person_update(person=mine, actor=personas.grid_worker, note="本社区的修改")
    services.person_update(person=theirs, actor=personas.outsider, note="外社区的修改")
    page = client_for(personas.community_worker).get("/audit/?action=update").content.decode()
    assert "本社区的修改" in page and "外社区的修改" not in page
    street_page = client_for(personas.street_command).get("/audit/?action=update").content.decode()
    assert "本社区的修改" in street_page and "外社区的修改" in street_page


def test_only_the_back_office_reads_the_log(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    for user in (personas.grid_worker, personas.gate_guard, personas.supplier, personas.resident, personas.medic):
        assert client_for(user).get("/audit/").status_code == 403
        assert client_for(user).get("/api/v1/audit/events").status_code == 403


def test_the_audit_api_is_scoped(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    theirs = Person.objects.filter(household__community=personas.tree.c2).first()
    assert theirs is not None
    services.person_update(person=theirs, actor=personas.outsider, note="外社区的修改")
    items = client_for(personas.community_worker).get("/api/v1/audit/events?action=update").json()["items"]
    assert all(item["object_pk"] != str(theirs.pk) for item in items)
    items = client_for(personas.outsider).get("/api/v1/audit/events?action=update").json()["items"]
    assert any(item["object_pk"] == str(theirs.pk) for item in items)
