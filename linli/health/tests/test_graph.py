"""The contact graph picture (H5, H6): one node per person, an edge per case–contact link, names escaped."""

from __future__ import annotations

import datetime
import itertools
import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

from linli.health.choices import CaseKind, CaseSource, ContactKind
from linli.health.graph import contact_graph_svg
from linli.health.models import Case, CloseContact
from linli.lib.testing import Personas
from linli.registry.models import Person

pytestmark = pytest.mark.django_db
NS = {"svg": "http://www.w3.org/2000/svg"}
SCRIPT_NAME = "<script>alert('x')</script>&"


@dataclass
class Graph:
    cases: list[Case]
    contacts: list[CloseContact]
    people: list[Person]


def make_case(personas: Personas, name: str, day: int, person: Person | None = None) -> Case:
    return Case.objects.create(
        street=personas.tree.street,
        community=personas.tree.c1,
        person=person,
        name=name,
        kind=CaseKind.CONFIRMED,
        confirmed_on=datetime.date(2026, 11, day),
        source=CaseSource.KNOWN,
    )


def link(case: Case, name: str, kind: str, person: Person | None = None) -> CloseContact:
    return CloseContact.objects.create(case=case, person=person, name=name, kind=kind)


@pytest.fixture
def graph(personas: Personas) -> Graph:
    """Cases A and B share contact D; A's contact C later became case C; B has a contact named with a
    script tag and A one without a person record."""
    people = list(Person.objects.order_by("pk")[:4])
    a, b, c, d = people
    case_a = make_case(personas, "病例甲", 1, a)
    case_b = make_case(personas, "病例乙", 3, b)
    case_c = make_case(personas, "病例丙", 5, c)
    contacts = [
        link(case_a, d.name, ContactKind.HOME, d),
        link(case_b, d.name, ContactKind.WORK, d),
        link(case_a, c.name, ContactKind.HOME, c),
        link(case_b, SCRIPT_NAME, ContactKind.VEHICLE),
        link(case_a, "张三", ContactKind.OTHER),
    ]
    return Graph([case_a, case_b, case_c], contacts, people)


def parse(svg: str) -> ET.Element:
    if os.environ.get("LINLI_KEEP_GRAPH"):  # to look at it: rsvg-convert -o /tmp/graph.png <file>
        with open(os.environ["LINLI_KEEP_GRAPH"], "w") as out:
            out.write(svg)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def nodes(root: ET.Element, kind: str) -> list[ET.Element]:
    return root.findall(f".//svg:g[@class='node {kind}']", NS)


def centre(node: ET.Element) -> tuple[float, float]:
    circle = node.find("svg:circle", NS)
    assert circle is not None
    return float(circle.get("cx", "nan")), float(circle.get("cy", "nan"))


def test_a_shared_contact_is_one_node_and_a_contact_turned_case_is_drawn_as_the_case(graph: Graph) -> None:
    # when
    root = parse(contact_graph_svg(graph.cases, graph.contacts))

    # then: 3 cases; contacts D (shared), the script-named one and 张三 — C only as a case
    cases, contacts = nodes(root, "case"), nodes(root, "contact")
    assert sorted(int(n.get("data-case", "0")) for n in cases) == sorted(c.pk for c in graph.cases)
    assert len(contacts) == 3
    d = graph.people[3]
    assert [n.get("data-person") for n in contacts].count(str(d.pk)) == 1
    assert str(graph.people[2].pk) not in [n.get("data-person") for n in contacts]
    # 5 links: A–D, B–D, A–C (to a case, dashed), B–script, A–张三
    edges = root.findall(".//svg:g[@class='edges']/svg:g", NS)
    assert len(edges) == 5
    to_case = [e for e in edges if e.get("class") == "edge to-case"]
    assert len(to_case) == 1
    assert (to_case[0].get("data-source"), to_case[0].get("data-target")) == (
        f"case-{graph.cases[0].pk}",
        f"case-{graph.cases[2].pk}",
    )
    shared = [e for e in edges if e.get("data-target") == f"contact-{graph.contacts[0].pk}"]
    assert sorted(e.get("data-source", "") for e in shared) == sorted(f"case-{c.pk}" for c in graph.cases[:2])
    # each edge carries its kind
    labels = ["".join(t.itertext()) for e in edges for t in e.findall("svg:text", NS)]
    assert sorted(labels) == sorted(["同住", "同事", "同住", "同乘", "其他"])


def test_cases_show_name_and_date_in_chinese(graph: Graph) -> None:
    root = parse(contact_graph_svg(graph.cases, graph.contacts))

    texts = {n.get("data-case"): [t.text for t in n.findall("svg:text", NS)] for n in nodes(root, "case")}
    assert texts[str(graph.cases[0].pk)] == ["病例甲", "11月1日"]
    assert texts[str(graph.cases[2].pk)] == ["病例丙", "11月5日"]


def test_names_are_escaped(graph: Graph) -> None:
    svg = contact_graph_svg(graph.cases, graph.contacts)

    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert root.find(".//svg:script", NS) is None
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any(SCRIPT_NAME in title for title in titles)  # the whole name, as text


def test_control_characters_are_dropped(personas: Personas) -> None:
    case = make_case(personas, "病例\x1b\x08甲", 1)

    root = parse(contact_graph_svg([case], [link(case, "李\x07四", ContactKind.HOME)]))

    names = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "病例甲" in names and "李四" in names


def test_the_layout_is_deterministic_and_nodes_do_not_overlap(personas: Personas) -> None:
    # given: 4 cases with 30 contacts, some shared between two cases
    cases = [make_case(personas, f"病例{i}", i + 1) for i in range(4)]
    people = list(Person.objects.order_by("pk")[:30])
    contacts = [
        link(case, person.name, ContactKind.HOME, person)
        for i, person in enumerate(people)
        for case in ([cases[i % 4], cases[(i + 1) % 4]] if i % 5 == 0 else [cases[i % 4]])
    ]

    # when: the same records in another order
    svg = contact_graph_svg(cases, contacts)
    again = contact_graph_svg(reversed(cases), reversed(contacts))

    # then
    assert svg == again
    root = parse(svg)
    points = [centre(n) for n in nodes(root, "case") + nodes(root, "contact")]
    assert len(points) == 34
    closest = min(math.dist(p, q) for p, q in itertools.combinations(points, 2))
    assert closest >= 2 * 13 + 10  # node radius 13: at least 10 units between circles
    # everything drawn lies inside the viewBox
    left, top, width, height = (float(v) for v in root.get("viewBox", "").split())
    assert all(left <= x <= left + width and top <= y <= top + height for x, y in points)
    assert root.get("width") == "100%"


def test_a_single_case_sits_in_the_middle_of_its_contacts(personas: Personas) -> None:
    case = make_case(personas, "病例甲", 1)
    contacts = [link(case, f"接触者{i}", ContactKind.WORK) for i in range(6)]

    root = parse(contact_graph_svg([case], contacts))

    assert centre(nodes(root, "case")[0]) == (0.0, 0.0)
    radii = {round(math.dist((0, 0), centre(n))) for n in nodes(root, "contact")}
    assert len(radii) == 1 and len(nodes(root, "contact")) == 6


def test_contacts_of_cases_not_drawn_are_left_out_and_no_case_draws_a_placeholder(personas: Personas) -> None:
    shown, hidden = make_case(personas, "病例甲", 1), make_case(personas, "病例乙", 2)
    contacts = [link(shown, "王五", ContactKind.HOME), link(hidden, "赵六", ContactKind.HOME)]

    root = parse(contact_graph_svg([shown], contacts))
    empty = parse(contact_graph_svg([], []))

    assert [t.text for n in nodes(root, "contact") for t in n.findall("svg:text", NS)] == ["王五"]
    assert not nodes(empty, "case") and "暂无病例" in "".join(empty.itertext())
