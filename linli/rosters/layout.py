"""The roster layout (SPEC R7): its columns, the header names we recognise, and the labels of its values.

The template, the export and the importer all read this one list, so that an export re-imports
unchanged and the 说明 sheet of the template can never disagree with what the importer accepts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from linli.registry.choices import VULNERABLE_FLAGS, HealthCode, Relation, Residency

# A row whose 姓名 starts with this mark is the template's example: the importer skips it.
EXAMPLE_MARK = "【示例】"

# The header row is looked for among the first rows (a title row, merged cells above it).
HEADER_SEARCH_ROWS = 5


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    synonyms: tuple[str, ...] = ()
    max_length: int = 50
    help: Any = ""  # a lazy translation
    required: bool = False
    width: int = 12
    text_format: bool = False  # written as text so that Excel never turns the digits into a number
    values: tuple[str, ...] = field(default=())


RELATION_SYNONYMS = {
    Relation.HOUSEHOLDER: ("本人", "户主本人", "户主"),
    Relation.SPOUSE: ("妻", "妻子", "夫", "丈夫", "爱人", "夫妻", "配偶"),
    Relation.CHILD: ("子", "女", "儿子", "女儿", "长子", "次子", "长女", "次女", "子女"),
    Relation.PARENT: ("父", "母", "父亲", "母亲", "父母"),
    Relation.GRANDPARENT: ("祖父", "祖母", "外祖父", "外祖母", "爷爷", "奶奶", "外公", "外婆", "祖父母"),
    Relation.GRANDCHILD: ("孙子", "孙女", "外孙", "外孙子", "外孙女", "孙子女"),
    Relation.SIBLING: ("兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹", "兄弟姐妹"),
    Relation.CHILD_IN_LAW: ("儿媳", "女婿", "儿媳/女婿"),
    Relation.OTHER_RELATIVE: ("亲属", "亲戚", "其他亲属"),
    Relation.TENANT: ("租户", "承租人", "租客"),
    Relation.OTHER: ("其他", "其它"),
}
RESIDENCY_SYNONYMS = {
    Residency.RESIDENT: ("常住", "户籍", "常住人口", "本地"),
    Residency.TENANT: ("租住", "租户", "租客", "暂住", "流动人口"),
    Residency.VISITOR: ("访客", "探亲", "临时"),
}
HEALTH_CODE_SYNONYMS = {
    HealthCode.GREEN: ("绿码", "绿", "绿色"),
    HealthCode.YELLOW: ("黄码", "黄", "黄色"),
    HealthCode.RED: ("红码", "红", "红色"),
    HealthCode.UNKNOWN: ("未知", "无", "无健康码"),
}
VULNERABLE_SYNONYMS = {
    "lives_alone": ("独居", "独居老人"),
    "empty_nest": ("空巢", "空巢老人"),
    "left_behind": ("留守", "留守儿童", "留守老人"),
    "disabled": ("残疾", "残疾人"),
    "chronic_illness": ("慢性病", "慢病", "多病共存", "慢性病患者"),
    "infant": ("婴幼儿", "婴儿"),
    "pregnant": ("孕产妇", "孕妇"),
    "no_smartphone": ("无智能手机", "不会用智能手机", "无手机"),
    "hardship": ("困难家庭", "低保", "特困", "困难户"),
}
VULNERABLE_FIELDS: tuple[str, ...] = tuple(name for name, _label in VULNERABLE_FLAGS)
TRUE_WORDS = frozenset({"是", "有", "√", "✓", "✔", "1", "y", "yes", "true"})
FALSE_WORDS = frozenset({"", "否", "无", "没有", "0", "n", "no", "false"})
LIST_SEPARATORS = re.compile(r"[,，、;；/\s]+")


COLUMNS: tuple[Column, ...] = (
    Column(
        "community",
        "社区",
        ("社区名称", "所属社区", "社区村", "村社区", "村居", "村"),
        100,
        _("可不填；填写时须是您所在的社区"),
    ),
    Column("grid", "网格", ("网格名称", "所属网格", "网格号"), 100, _("新小区必须填写（社区只有一个网格时可不填）")),
    Column(
        "compound",
        "小区",
        ("小区名称", "小区名", "居民点", "小区居民点", "所属小区", "小区院落"),
        100,
        _("必填；没有的小区会自动建立"),
        True,
        16,
    ),
    Column(
        "building",
        "楼栋",
        ("楼号", "楼栋号", "栋", "幢", "楼幢", "楼院", "楼栋楼院", "栋号"),
        100,
        _("必填，如“1号楼”；没有的楼栋会自动建立"),
        True,
    ),
    Column("unit", "单元", ("单元号",), 100, _("必填，如“1单元”；没有单元的楼栋填“1单元”"), True),
    Column(
        "room",
        "房号",
        ("门牌号", "房间号", "室", "房屋号", "户号", "门牌", "房间"),
        20,
        _("必填，如“101”；没有的户会自动建立"),
        True,
    ),
    Column("name", "姓名", ("名字", "居民姓名", "人员姓名"), 50, _("必填"), True),
    Column(
        "id_number",
        "身份证号",
        ("公民身份号码", "身份证号码", "证件号码", "身份证", "证件号", "公民身份证号"),
        40,
        _("18位居民身份证号；已登记的人按身份证号更新，不会重复登记。请设为文本格式"),
        width=22,
        text_format=True,
    ),
    Column(
        "phone",
        "手机号",
        ("联系电话", "手机号码", "电话", "联系方式", "电话号码", "手机"),
        30,
        _("11位手机号"),
        width=15,
        text_format=True,
    ),
    Column(
        "relation",
        "与户主关系",
        ("户主关系", "关系"),
        20,
        _("不填为“其他”"),
        values=tuple(str(x) for x in Relation.labels),
    ),
    Column(
        "residency",
        "居住类型",
        ("居住性质", "人员类型", "居住状态"),
        20,
        _("不填为“常住”"),
        values=tuple(str(x) for x in Residency.labels),
    ),
    Column(
        "health_code",
        "健康码",
        ("健康码颜色", "健康码状态"),
        20,
        _("不填为“绿码”"),
        values=tuple(str(x) for x in HealthCode.labels),
    ),
    Column(
        "vulnerable",
        "重点人群",
        ("特殊人群", "重点人员类别", "人群类别", "重点人群类别"),
        200,
        _("可填多个，用顿号或逗号分隔"),
        width=18,
        values=tuple(str(label) for _name, label in VULNERABLE_FLAGS),
    ),
    Column("helper_name", "帮扶人", ("结对帮扶人", "帮扶责任人", "包保人"), 50),
    Column(
        "helper_phone", "帮扶人电话", ("帮扶人手机", "帮扶人联系电话", "帮扶人手机号"), 30, width=15, text_format=True
    ),
    Column("landlord_name", "房东姓名", ("房东", "房主", "房主姓名"), 50, _("出租房填写；同一户填一次即可")),
    Column(
        "landlord_phone",
        "房东电话",
        ("房东手机", "房东联系电话", "房主电话", "房东手机号"),
        30,
        width=15,
        text_format=True,
    ),
    Column("note", "备注", (), 1000, width=20),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
PLACE_KEYS: tuple[str, ...] = ("community", "grid", "compound", "building", "unit", "room")
# One yes/no column per vulnerable flag is accepted too (是否独居: 是/否), as many rosters have them.
FLAG_MAX_LENGTH = 10


def normalise_header(text: object) -> str:
    """Full-width to half-width, no spaces or line breaks, no required-marks or notes in brackets."""
    value = unicodedata.normalize("NFKC", str(text or ""))
    value = re.sub(r"[(\[（【][^)\]）】]*[)\]）】]", "", value)
    value = re.sub(r"[\s*＊:：]", "", value).lower()
    if value.startswith("是否") and len(value) > 2:
        value = value[2:]
    return value


def _header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for column in COLUMNS:
        for name in (column.header, *column.synonyms):
            index[normalise_header(name)] = column.key
    for name, synonyms in VULNERABLE_SYNONYMS.items():
        for word in synonyms:
            index.setdefault(normalise_header(word), f"flag:{name}")
    return index


HEADER_INDEX = _header_index()


def match_header(text: object) -> str | None:
    """The column key a header cell names, or None."""
    return HEADER_INDEX.get(normalise_header(text))


def _value_index(choices: dict) -> dict[str, str]:
    index: dict[str, str] = {}
    for value, words in choices.items():
        index[str(value)] = str(value)  # the stored code (householder …) is accepted too
        index[str(value.label).lower()] = str(value)
        for word in words:
            index[normalise_value(word)] = str(value)
    return index


def normalise_value(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


RELATION_VALUES = _value_index(RELATION_SYNONYMS)
RESIDENCY_VALUES = _value_index(RESIDENCY_SYNONYMS)
HEALTH_CODE_VALUES = _value_index(HEALTH_CODE_SYNONYMS)
CHOICE_VALUES = {"relation": RELATION_VALUES, "residency": RESIDENCY_VALUES, "health_code": HEALTH_CODE_VALUES}
CHOICE_DEFAULTS = {
    "relation": str(Relation.OTHER),
    "residency": str(Residency.RESIDENT),
    "health_code": str(HealthCode.GREEN),
}
CHOICE_LABELS = {
    "relation": {str(value): str(label) for value, label in Relation.choices},
    "residency": {str(value): str(label) for value, label in Residency.choices},
    "health_code": {str(value): str(label) for value, label in HealthCode.choices},
}
VULNERABLE_VALUES = {
    normalise_value(word): name for name, words in VULNERABLE_SYNONYMS.items() for word in (*words, name)
}
VULNERABLE_LABELS = {name: str(label) for name, label in VULNERABLE_FLAGS}


def parse_vulnerable(text: str) -> tuple[set[str], list[str]]:
    """The flag names a 重点人群 cell lists, and the words we did not recognise."""
    flags: set[str] = set()
    unknown: list[str] = []
    for word in LIST_SEPARATORS.split(text):
        if not word:
            continue
        name = VULNERABLE_VALUES.get(normalise_value(word))
        if name is None:
            unknown.append(word)
        else:
            flags.add(name)
    return flags, unknown


def parse_yes_no(text: str) -> bool | None:
    word = normalise_value(text)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def headers() -> list[str]:
    return [column.header for column in COLUMNS]


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
