"""The property company's emergency levels and their procedure checklists (SPEC H8, seed 000 p5).

The seed (shared/seeds/000_ac6705a39bf8fe00.txt, 篇五, lines 140–208) defines the three levels (3、1–3、3),
the emergency leading group (4、1–4、2), the departments' duties (4、3), the routine measures (5–6), the
cleaners' and guards' duties (7) and the level-3 procedure — then stops at 8、1、1. Items quoted from the
seed cite its line (``000:208``); the level-2 and level-1 procedures it does not spell out are derived from
its sections 4–7 (and the community rules of the same seed's earlier plans, cited where used) and are
marked ``derived=True``.

A higher level keeps the lower levels' measures running: its first item says so, instead of repeating
them. Item codes are unique across all levels, so a ``PropertyEmergency.done_items`` list stays
meaningful when read against another level.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from linli.health.choices import EmergencyLevel
from linli.health.models import PropertyEmergency


@dataclass(frozen=True)
class ChecklistItem:
    """One step of a level's procedure."""

    code: str
    text: Promise | str
    derived: bool = False  # not in the seed's words: derived from its sections 4–7


CHECKLISTS: dict[int, list[ChecklistItem]] = {
    # 三级 预警状态 — 获悉近期将流行某种高传染疫情 (000:146–148, procedure 000:206–208).
    EmergencyLevel.LEVEL_3: [
        # 000:208
        ChecklistItem("l3_meeting", _("物业总经理召开专项会议，宣布进入预警状态，布置各部门各项工作")),
        # 000:158–162
        ChecklistItem("l3_group", _("成立紧急防疫领导小组：物业总经理任组长，各部门经理为主要成员")),
        # 000:170
        ChecklistItem("l3_report", _("组长向上级机关和主管部门汇报本区域卫生防疫工作部署和实施情况")),
        # 000:182, 000:174
        ChecklistItem("l3_information", _("综合部从卫生部门、报刊、网络等渠道及时收集公共卫生信息，保证信息渠道畅通")),
        # 000:184–186
        ChecklistItem("l3_publicity", _("通过通告、宣传栏向客户宣传公共卫生信息，保证其权威性和时效性")),
        # 000:188
        ChecklistItem("l3_materials", _("宣传资料及时发放到物业公司各部门及外包单位")),
        # 000:174
        ChecklistItem("l3_supplies", _("综合部做好防疫物资准备（口罩、手套、消毒液等）")),
        # 000:190
        ChecklistItem("l3_disinfection", _("建立定期消毒制度，加强垃圾消杀与清洁，生活垃圾袋装并无害化处理，日产日清")),
        # 000:192
        ChecklistItem("l3_pests", _("根据季节和虫害生存特性安排重点消杀，防止虫害传播病菌")),
        # 000:194
        ChecklistItem("l3_no_peracetic", _("日常防控消毒禁止使用过氧乙酸")),
        # 000:178
        ChecklistItem("l3_fresh_air", _("工程部保障新风系统卫生安全")),
        # 000:196, 000:202
        ChecklistItem(
            "l3_staff_protection",
            _("直接面对客户的员工做好个人防护；保洁员掌握消毒和防护方法，进入客户区域戴口罩、手套"),
        ),
    ],
    # 二级 高度戒备状态 — 本地已发生高传染性疫情 (000:150–152). The seed has no level-2 procedure:
    # the items apply its sections 4–7 with the closer watch a local outbreak calls for.
    EmergencyLevel.LEVEL_2: [
        # derived: a higher level keeps the lower level's measures
        ChecklistItem("l2_keep_level3", _("三级预警各项措施继续落实"), derived=True),
        # 000:166–168
        ChecklistItem("l2_declare", _("组长下令启动二级预案，宣布进入高度戒备状态，开会布置防疫小组工作")),
        # derived from 000:170 (report to the authorities), made daily
        ChecklistItem("l2_daily_report", _("每日向社区和主管部门报告防疫工作部署和实施情况"), derived=True),
        # derived from 000:176 (disinfection adjusted by the leader) and 000:134 (public places daily)
        ChecklistItem(
            "l2_disinfection",
            _("客服部加密消杀：电梯、楼道、门厅、凉亭等公共部位每天消毒并登记"),
            derived=True,
        ),
        # derived from 000:178 (the engineering department adjusts disinfection)
        ChecklistItem("l2_ventilation", _("工程部加强新风系统消毒和公共区域通风换气"), derived=True),
        # derived from 000:180 and 000:204 (entrances watched, temperatures taken)
        ChecklistItem("l2_access", _("安保部加强出入管理：进入人员测温、查验、登记，车辆登记"), derived=True),
        # derived from 000:184 (notices to clients) and 000:130 (residents report symptoms and travel)
        ChecklistItem(
            "l2_notice_residents",
            _("通告业主本地疫情和防护要求，提醒有发热症状或中高风险地区旅居史的人员主动报告社区"),
            derived=True,
        ),
        # derived from 000:132 (a container and a ledger for discarded masks)
        ChecklistItem("l2_mask_bins", _("设置废弃口罩专用收集容器，建立医废垃圾收集、运输台账"), derived=True),
        # derived from 000:198 (staff on standby under the leader) and 000:136 (staff protection)
        ChecklistItem(
            "l2_staff_standby",
            _("员工每日测温，有症状不上岗；各部门人员取消休假，听从领导小组统一指挥待命"),
            derived=True,
        ),
    ],
    # 一级 高度紧急状态 — 本物业管理区域已发生高传染性疫情 (000:154–156).
    EmergencyLevel.LEVEL_1: [
        # derived: a higher level keeps the lower levels' measures
        ChecklistItem("l1_keep_level2", _("二级、三级各项措施继续落实"), derived=True),
        # 000:168
        ChecklistItem("l1_declare", _("组长宣布进入紧急状态，立即召开会议布置防疫小组工作")),
        # derived from 000:170: the authorities are told at once, and the investigation is helped
        ChecklistItem("l1_report", _("立即报告社区、街道和卫生防疫部门，配合开展流行病学调查"), derived=True),
        # 000:204
        ChecklistItem("l1_closed", _("安保部对物业管理区域实行封闭管理，杜绝非内部人员进入")),
        # 000:204
        ChecklistItem("l1_checks", _("对进入人员测量体温，对进入车辆进行消毒")),
        # 000:198
        ChecklistItem("l1_notify_all", _("政府实行全封闭紧急隔离管理时，及时通知所有人员，无条件配合政府部门工作")),
        # 000:198
        ChecklistItem("l1_standby", _("各部门员工根据领导小组组长统一指挥待命")),
        # derived from 000:176 and SPEC H7 (public parts of a sealed building ≥ 2 times a day)
        ChecklistItem(
            "l1_disinfection",
            _("配合疾控对病例所在楼栋、单元消毒，公共部位每日消杀不少于2次"),
            derived=True,
        ),
        # derived from 000:132 (the waste of isolated people is sealed and collected apart)
        ChecklistItem("l1_waste", _("隔离人员垃圾密封后投入专门容器，单独收集、运输并登记台账"), derived=True),
        # derived from 000:202 and 000:136 (protection when entering clients' areas)
        ChecklistItem("l1_protection", _("进入隔离区域的员工穿戴口罩、手套、防护服等合格防护用品"), derived=True),
        # derived from 000:140 (this seed is the closed compounds' grocery plan) and SPEC H7
        ChecklistItem(
            "l1_supplies",
            _("配合社区为封闭区域居民代购生活物资，定点无接触投放"),
            derived=True,
        ),
        # derived from 000:174 and 000:138 (information published promptly; no rumours)
        ChecklistItem("l1_information", _("及时准确公布疫情信息，引导居民不造谣、不传谣、不信谣"), derived=True),
    ],
}


def items_for(level: int) -> list[ChecklistItem]:
    """The checklist of an emergency level (3, 2 or 1); a ValueError for any other level."""
    return list(CHECKLISTS[EmergencyLevel(level)])


def progress(emergency: PropertyEmergency) -> tuple[int, int]:
    """(items done, items in the checklist) of ``emergency``'s level; unknown or repeated codes don't count."""
    items = items_for(emergency.level)
    done = set(emergency.done_items or [])
    return sum(1 for item in items if item.code in done), len(items)


def checklist(emergency: PropertyEmergency) -> list[tuple[ChecklistItem, bool]]:
    """The items of ``emergency``'s level, each with whether it is done: what a checklist page shows."""
    done = set(emergency.done_items or [])
    return [(item, item.code in done) for item in items_for(emergency.level)]
