"""The demo street's responsibility chains, cover slots and working groups (SPEC R5, R6)."""

from __future__ import annotations

import datetime
import random

from linli.organisation.models import CoverSlot, GroupKind, GroupMember, ResponsibilityChain, WorkingGroup
from linli.organisation.services import DEFAULT_DUTIES
from linli.registry.demo.words import NamePools
from linli.registry.models import Community, Compound, Street

# The three duty periods of the plans [001 p6]: cadres by day, volunteers in the evening and night.
SLOTS = ((8, 17, "cadre"), (17, 20, "volunteer"), (20, 8, "volunteer"))


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


def seed_organisation(street: Street, pools: NamePools, rng: random.Random) -> None:
    """A filled chain and three cover slots per compound; the standard working groups per community."""
    street_leader = (pools.name(rng, True), _phone(rng))
    community_leaders: dict[int, tuple[str, str]] = {}
    chains: list[ResponsibilityChain] = []
    slots: list[CoverSlot] = []
    for compound in Compound.objects.filter(street=street).order_by("code"):
        if compound.community_id not in community_leaders:
            community_leaders[compound.community_id] = (pools.name(rng, rng.random() < 0.5), _phone(rng))
        leader = community_leaders[compound.community_id]
        chains.append(
            ResponsibilityChain(
                compound=compound,
                street_leader=street_leader[0],
                street_leader_phone=street_leader[1],
                community_leader=leader[0],
                community_leader_phone=leader[1],
                responsible=pools.name(rng, rng.random() < 0.5),
                responsible_phone=_phone(rng),
            )
        )
        for starts, ends, kind in SLOTS:
            slots.append(
                CoverSlot(
                    compound=compound,
                    name=pools.name(rng, rng.random() < 0.5),
                    kind=kind,
                    phone=_phone(rng),
                    starts=datetime.time(starts),
                    ends=datetime.time(ends),
                )
            )
    ResponsibilityChain.objects.bulk_create(chains, batch_size=1000)
    CoverSlot.objects.bulk_create(slots, batch_size=1000)
    members: list[GroupMember] = []
    for community in Community.objects.filter(street=street).order_by("code"):
        # The same groups and duties as working_groups_seed_defaults, written in bulk: the seed
        # leaves one audit event for everything it creates.
        duty_phone = f"021-{rng.randrange(5000_0000, 6999_9999)}"
        groups = WorkingGroup.objects.bulk_create(
            [
                WorkingGroup(
                    street_id=community.street_id,
                    community=community,
                    kind=kind.value,
                    name=f"{community.name}疫情防控{kind.label}",
                    duties=str(DEFAULT_DUTIES[kind]),
                    duty_phone=duty_phone,
                )
                for kind in GroupKind
            ]
        )
        for group in groups:
            for index in range(2):
                members.append(
                    GroupMember(
                        group=group,
                        name=pools.name(rng, rng.random() < 0.5),
                        title="组长" if index == 0 else "组员",
                        phone=_phone(rng),
                        is_leader=index == 0,
                    )
                )
    GroupMember.objects.bulk_create(members, batch_size=1000)
