"""The contact graph (SPEC H5, H6): who is linked to whom, drawn on the server as an SVG picture.

Cases are red nodes (name and confirmation date) on an inner circle — one case alone sits in the
middle — and close contacts orange nodes on an outer ring, each turned towards the case(s) it is linked
to; an edge from a case to a contact carries the kind of contact. People are matched on ``person_id``: a
contact of two cases is one node with two edges, and a contact who later became a case is drawn once,
as the case. Contacts without a person record can't be matched and are drawn once per contact row.

The layout depends only on the input (sorted by date and pk), so the same records give the same
picture. The SVG scales to its container (``viewBox``, ``width="100%"``) and is built with ElementTree,
which escapes every name; control characters, which XML cannot carry, are dropped.
"""

from __future__ import annotations

import datetime
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.health.choices import ContactKind
from linli.health.models import Case, CloseContact
from linli.lib.wording import labelled

SVG_NS = "http://www.w3.org/2000/svg"
CASE_COLOUR = "#d32f2f"
CONTACT_COLOUR = "#f57c00"
EDGE_COLOUR = "#9e9e9e"
TEXT_COLOUR = "#212121"
NODE_RADIUS = 13
FONT_SIZE = 13
EDGE_FONT_SIZE = 11
NAME_CHARS = 8  # longer names are cut on the picture; the whole name is in the node's <title>
CASE_SPACING = 110  # arc length between neighbouring cases on the inner circle
CONTACT_SPACING = 64  # arc length between neighbouring contacts on the outer ring
RING_GAP = 130  # from the inner circle to the outer ring
MIN_RING = 120
STAGGER = 36  # every other contact moves out by this much when the ring is crowded
MARGIN = 8

# Short edge labels, so that a phone can show them; the full kind is in the edge's <title>.
SHORT_KIND: dict[str, Promise] = {
    ContactKind.HOME: gettext_lazy("同住"),
    ContactKind.CLASS: gettext_lazy("同班"),
    ContactKind.WORK: gettext_lazy("同事"),
    ContactKind.CARER: gettext_lazy("护理探视"),
    ContactKind.VEHICLE: gettext_lazy("同乘"),
    ContactKind.OTHER: gettext_lazy("其他"),
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

NodeKey = tuple[str, int]


@dataclass
class _Node:
    key: NodeKey
    is_case: bool
    name: str
    person_id: int | None
    record_id: int  # the case's pk, or the first contact row's pk
    confirmed_on: datetime.date | None = None
    detail: str = ""
    x: float = 0.0
    y: float = 0.0
    angle: float = 0.0
    links: list[NodeKey] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """``case-<pk>`` or ``contact-<pk of its first contact row>``: what an edge's ends are called."""
        return f"{'case' if self.is_case else 'contact'}-{self.record_id}"


@dataclass
class _Edge:
    source: NodeKey
    target: NodeKey
    kind: str
    detail: str


def _clean(text: object) -> str:
    return _NOT_XML.sub("", str(text or ""))


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def _day(value: datetime.date) -> str:
    return _("%(month)d月%(day)d日") % {"month": value.month, "day": value.day}


def _text_width(text: str, size: float) -> float:
    """Roughly how wide ``text`` is drawn: CJK characters are square, the others about half as wide."""
    return sum(size if ord(char) > 0x2E7F else size * 0.6 for char in text)


def _circular_mean(angles: Iterable[float]) -> float:
    sin = cos = 0.0
    for angle in angles:
        sin += math.sin(angle)
        cos += math.cos(angle)
    return math.atan2(sin, cos) if abs(sin) + abs(cos) > 1e-9 else 0.0


def _build(cases: Iterable[Case], contacts: Iterable[CloseContact]) -> tuple[dict[NodeKey, _Node], list[_Edge]]:
    nodes: dict[NodeKey, _Node] = {}
    case_node: dict[int, NodeKey] = {}
    for case in sorted(cases, key=lambda c: (c.confirmed_on, c.pk)):
        key: NodeKey = ("person", case.person_id) if case.person_id else ("case", case.pk)
        case_node[case.pk] = key
        if key not in nodes:  # one person with two case records is one node
            nodes[key] = _Node(
                key,
                True,
                _clean(case.name),
                case.person_id,
                case.pk,
                confirmed_on=case.confirmed_on,
                detail=_("%(kind)s，%(day)s确诊（报告）")
                % {"kind": case.get_kind_display(), "day": _day(case.confirmed_on)},
            )
    case_order = {pk: index for index, pk in enumerate(case_node)}

    edges: dict[tuple[NodeKey, NodeKey], _Edge] = {}
    # Contacts of cases not drawn are left out.
    known = [contact for contact in contacts if contact.case_id in case_node]
    for contact in sorted(known, key=lambda c: (case_order[c.case_id], c.pk)):
        source = case_node[contact.case_id]
        key = ("person", contact.person_id) if contact.person_id else ("contact", contact.pk)
        if key == source or (source, key) in edges:
            continue
        if key not in nodes:
            nodes[key] = _Node(key, False, _clean(contact.name), contact.person_id, contact.pk)
        kind = _clean(contact.kind)
        detail = str(ContactKind(kind).label) if kind in ContactKind.values else kind
        if contact.last_contact_on:
            detail += _("，末次接触%(day)s") % {"day": _day(contact.last_contact_on)}
        edges[(source, key)] = _Edge(source, key, kind, detail)
        nodes[source].links.append(key)
        nodes[key].links.append(source)
    return nodes, list(edges.values())


def _layout(nodes: dict[NodeKey, _Node]) -> None:
    """Cases evenly on the inner circle from the top, clockwise; contacts evenly on the outer ring, each
    ordered by the mean direction of its cases and the ring turned to sit best against them."""
    cases = [node for node in nodes.values() if node.is_case]
    inner = 0.0 if len(cases) <= 1 else max(70.0, len(cases) * CASE_SPACING / (2 * math.pi))
    for index, node in enumerate(cases):
        node.angle = -math.pi / 2 + 2 * math.pi * index / max(len(cases), 1)
        node.x, node.y = inner * math.cos(node.angle), inner * math.sin(node.angle)

    contacts = [node for node in nodes.values() if not node.is_case]
    if not contacts:
        return
    wanted = {node.key: _circular_mean(nodes[link].angle for link in node.links) for node in contacts}
    # Angles measured from the top (-π/2), in [0, 2π): the sort starts at twelve o'clock like the cases.
    contacts.sort(key=lambda node: (wanted[node.key] + math.pi / 2) % (2 * math.pi))
    count = len(contacts)
    base = [2 * math.pi * index / count for index in range(count)]
    turn = _circular_mean(wanted[node.key] - slot for node, slot in zip(contacts, base, strict=True))
    if len(cases) <= 1:
        turn = -math.pi / 2  # around a single case: start at the top
    ring = max(MIN_RING, inner + RING_GAP, count * CONTACT_SPACING / (2 * math.pi))
    crowded = count * CONTACT_SPACING > 2 * math.pi * ring * 0.75
    for index, (node, slot) in enumerate(zip(contacts, base, strict=True)):
        radius = ring + (STAGGER if crowded and index % 2 else 0)
        node.angle = slot + turn
        node.x, node.y = radius * math.cos(node.angle), radius * math.sin(node.angle)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Box:
    """The extent of everything drawn, for the viewBox."""

    def __init__(self) -> None:
        self.left = self.top = math.inf
        self.right = self.bottom = -math.inf

    def add(self, left: float, top: float, right: float, bottom: float) -> None:
        self.left, self.top = min(self.left, left), min(self.top, top)
        self.right, self.bottom = max(self.right, right), max(self.bottom, bottom)

    def add_text(self, x: float, y: float, text: str, size: float, anchor: str) -> None:
        width = _text_width(text, size)
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        self.add(left, y - size, left + width, y + size * 0.3)


def _text(
    parent: ET.Element, box: _Box, x: float, y: float, text: str, *, size: float, anchor: str, **attrs: str
) -> None:
    element = ET.SubElement(
        parent,
        "text",
        {
            "x": _fmt(x),
            "y": _fmt(y),
            "font-size": _fmt(size),
            "text-anchor": anchor,
            # A white halo keeps a label readable where an edge runs under it.
            "stroke": "#fff",
            "stroke-width": "3",
            "paint-order": "stroke",
            **attrs,
        },
    )
    element.text = text
    box.add_text(x, y, text, size, anchor)


def _label_place(node: _Node, lines: int) -> tuple[float, float, str]:
    """Where a node's label starts: outside the ring for contacts, under the node for cases."""
    if node.is_case:
        return node.x, node.y + NODE_RADIUS + FONT_SIZE + 2, "middle"
    cos, sin = math.cos(node.angle), math.sin(node.angle)
    if cos > 0.35:
        return node.x + NODE_RADIUS + 4, node.y + FONT_SIZE * 0.35, "start"
    if cos < -0.35:
        return node.x - NODE_RADIUS - 4, node.y + FONT_SIZE * 0.35, "end"
    if sin < 0:
        return node.x, node.y - NODE_RADIUS - 4 - (lines - 1) * (FONT_SIZE + 2), "middle"
    return node.x, node.y + NODE_RADIUS + FONT_SIZE + 2, "middle"


def contact_graph_svg(cases: Iterable[Case], contacts: Iterable[CloseContact]) -> str:
    """An SVG picture of ``cases`` and their ``contacts`` (contacts of cases not given are left out)."""
    nodes, edges = _build(cases, contacts)
    _layout(nodes)
    title = _("病例与密切接触者关系图")
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "class": "contact-graph",
            "role": "img",
            "aria-label": title,
            "width": "100%",
            "preserveAspectRatio": "xMidYMid meet",
            "font-family": "system-ui, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif",
        },
    )
    ET.SubElement(root, "title").text = title
    box = _Box()

    if not nodes:
        _text(root, box, 0, 0, _("暂无病例"), size=FONT_SIZE, anchor="middle", fill=TEXT_COLOUR)
    edge_group = ET.SubElement(root, "g", {"class": "edges"})
    for edge in edges:
        source, target = nodes[edge.source], nodes[edge.target]
        group = ET.SubElement(
            edge_group,
            "g",
            {
                "class": "edge to-case" if target.is_case else "edge",
                "data-source": source.ref,
                "data-target": target.ref,
            },
        )
        ET.SubElement(group, "title").text = labelled(f"{source.name} — {target.name}", edge.detail)
        line = {
            "x1": _fmt(source.x),
            "y1": _fmt(source.y),
            "x2": _fmt(target.x),
            "y2": _fmt(target.y),
            "stroke": CASE_COLOUR if target.is_case else EDGE_COLOUR,
            "stroke-width": "1.5",
        }
        if target.is_case:
            line["stroke-dasharray"] = "5 4"
        ET.SubElement(group, "line", line)
        # The label sits nearer the contact, where the edges fan out and there is room.
        share = 0.5 if target.is_case else 0.6
        label = str(SHORT_KIND.get(edge.kind, edge.kind))
        x, y = source.x + (target.x - source.x) * share, source.y + (target.y - source.y) * share
        _text(group, box, x, y + EDGE_FONT_SIZE * 0.35, label, size=EDGE_FONT_SIZE, anchor="middle", fill="#616161")

    node_group = ET.SubElement(root, "g", {"class": "nodes"})
    for node in nodes.values():
        attrs = {"class": "node case" if node.is_case else "node contact"}
        attrs["data-case" if node.is_case else "data-contact"] = str(node.record_id)
        if node.person_id:
            attrs["data-person"] = str(node.person_id)
        group = ET.SubElement(node_group, "g", attrs)
        ET.SubElement(group, "title").text = labelled(node.name, node.detail) if node.detail else node.name
        ET.SubElement(
            group,
            "circle",
            {
                "cx": _fmt(node.x),
                "cy": _fmt(node.y),
                "r": str(NODE_RADIUS),
                "fill": CASE_COLOUR if node.is_case else CONTACT_COLOUR,
                "stroke": "#fff",
                "stroke-width": "2",
            },
        )
        box.add(node.x - NODE_RADIUS, node.y - NODE_RADIUS, node.x + NODE_RADIUS, node.y + NODE_RADIUS)
        lines = [_short(node.name)]
        if node.is_case and node.confirmed_on:
            lines.append(_day(node.confirmed_on))
        x, y, anchor = _label_place(node, len(lines))
        for index, text in enumerate(lines):
            size = FONT_SIZE if index == 0 else FONT_SIZE - 2
            weight = {"font-weight": "bold"} if node.is_case and index == 0 else {}
            _text(
                group, box, x, y + index * (FONT_SIZE + 2), text, size=size, anchor=anchor, fill=TEXT_COLOUR, **weight
            )

    # The legend goes above everything else, on the left.
    legend = ET.SubElement(root, "g", {"class": "legend"})
    top, left = box.top - 2 * FONT_SIZE, box.left
    for index, (colour, text) in enumerate(((CASE_COLOUR, _("病例")), (CONTACT_COLOUR, _("密切接触者")))):
        x = left + index * 70
        ET.SubElement(legend, "circle", {"cx": _fmt(x + 6), "cy": _fmt(top), "r": "6", "fill": colour})
        box.add(x, top - 6, x + 12, top + 6)
        _text(legend, box, x + 16, top + FONT_SIZE * 0.35, text, size=FONT_SIZE - 1, anchor="start", fill=TEXT_COLOUR)

    width, height = box.right - box.left + 2 * MARGIN, box.bottom - box.top + 2 * MARGIN
    root.set("viewBox", " ".join(_fmt(v) for v in (box.left - MARGIN, box.top - MARGIN, width, height)))
    # Never drawn larger than its natural size on a wide screen; narrower screens scale it down.
    root.set("style", f"max-width:{_fmt(width)}px;height:auto")
    return ET.tostring(root, encoding="unicode")
