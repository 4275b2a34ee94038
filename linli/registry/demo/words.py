"""Words the demo street is made of: place names, companies, area codes, and pools of Chinese names."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

NUMERALS = "一二三四五六七八九十"

# Area codes (first six digits of an ID number). Locals are mostly from Shanghai districts; the codes
# that existed before Pudong (310115, 1992) keep older people's numbers valid. Migrants, above all
# tenants, come from the provinces around. Each code is used only for birth years it was valid in.
LOCAL_AREAS = (
    "310115",
    "310115",
    "310115",
    "310115",
    "310101",
    "310104",
    "310105",
    "310106",
    "310107",
    "310109",
    "310110",
    "310112",
    "310113",
)
MIGRANT_AREAS = (
    "320102",
    "320106",
    "320311",
    "320582",
    "330102",
    "330106",
    "340102",
    "340104",
    "340111",
    "340121",
    "340321",
    "341221",
    "410102",
    "410105",
    "410302",
    "411302",
    "420102",
    "420111",
    "430102",
    "360102",
    "370102",
    "510104",
    "510107",
    "500101",
    "310104",
)
ALWAYS_VALID_AREAS = ("310104", "310106", "310110")

MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)

COMMUNITY_WORDS = (
    "幸福",
    "团结",
    "和平",
    "光明",
    "新华",
    "建设",
    "民主",
    "胜利",
    "友谊",
    "东风",
    "朝阳",
    "向阳",
    "长江",
    "前进",
    "春晖",
    "金桥",
    "梅园",
    "竹园",
    "松园",
    "桃林",
    "海防",
    "崂山",
    "潍坊",
    "塘桥",
    "南码头",
    "东明",
    "上南",
    "齐河",
    "杨思",
    "三林",
    "花木",
    "洋泾",
    "陆家嘴",
    "张江",
    "北蔡",
    "六里",
    "周家渡",
    "昌里",
    "德州",
    "云莲",
)
VILLAGE_WORDS = ("联丰", "新建", "前锋", "红星", "永丰", "新南", "光辉", "跃进", "大同", "中心")
ROADS = (
    "浦东南路",
    "浦建路",
    "东方路",
    "潍坊路",
    "崂山路",
    "南泉路",
    "峨山路",
    "临沂路",
    "东明路",
    "上南路",
    "杨高南路",
    "德州路",
    "云台路",
    "昌里路",
    "齐河路",
    "成山路",
    "高青路",
    "海阳路",
    "长清路",
    "灵岩南路",
    "锦绣路",
    "白莲泾路",
    "南码头路",
    "塘桥新路",
)
COMPOUND_HEADS = (
    "阳光",
    "和谐",
    "锦绣",
    "东方",
    "幸福",
    "翠竹",
    "紫薇",
    "海棠",
    "春江",
    "御景",
    "世纪",
    "明珠",
    "滨江",
    "碧云",
    "丽水",
    "金色",
    "绿洲",
    "香樟",
    "银杏",
    "玉兰",
    "枫林",
    "清水",
    "华夏",
    "盛世",
    "新苑",
    "泰和",
    "嘉和",
    "康乐",
    "安居",
    "福泽",
    "万家",
    "长青",
    "东晟",
    "仁恒",
    "中远",
    "联洋",
    "金桥",
    "大华",
    "建工",
    "众城",
)
COMPOUND_TAILS = ("小区", "花园", "苑", "家园", "新村", "公寓", "华庭", "雅苑", "佳苑", "名邸", "公馆")
SETTLEMENT_TAILS = ("居民点", "散居楼", "老街居民点", "宅")
PROPERTY_COMPANIES = (
    "万科物业",
    "绿城服务",
    "保利物业",
    "碧桂园服务",
    "长城物业",
    "中海物业",
    "陆家嘴物业",
    "永升生活服务",
    "东湖物业",
    "浦东物业",
    "上房物业",
    "古北物业",
)
FORMER_MANAGERS = ("原浦东房管所", "原上钢三厂", "原港务局宿舍管理处", "原第十二棉纺厂", "原浦东船厂")
TRAVEL_PLACES = (
    "北京市朝阳区",
    "江苏省苏州市",
    "江苏省南京市",
    "浙江省杭州市",
    "浙江省宁波市",
    "安徽省合肥市",
    "广东省深圳市",
    "湖北省武汉市",
    "四川省成都市",
    "上海市闵行区",
    "上海市松江区",
    "河南省郑州市",
)


def community_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct community names, shuffled."""
    words = list(COMMUNITY_WORDS) + [f"{road.removesuffix('路')}" for road in ROADS]
    rng.shuffle(words)
    result = [f"{word}社区" for word in dict.fromkeys(words)]
    while len(result) < count:
        result.append(f"第{len(result) + 1}社区")
    return result[:count]


def compound_names(rng: random.Random) -> Callable[[bool], str]:
    """A function that hands out distinct compound (or open-settlement) names, one per call."""
    names = [head + tail for head in COMPOUND_HEADS for tail in COMPOUND_TAILS]
    rng.shuffle(names)
    settlements = [f"{road.removesuffix('路')}{tail}" for road in ROADS for tail in SETTLEMENT_TAILS]
    rng.shuffle(settlements)
    used: set[str] = set()
    counters = {False: 0, True: 0}

    def next_name(open_settlement: bool) -> str:
        pool = settlements if open_settlement else names
        while True:
            n = counters[open_settlement]
            counters[open_settlement] += 1
            name = pool[n % len(pool)]
            if n >= len(pool):
                name += f"{n // len(pool) + 1}期"
            if name not in used:
                used.add(name)
                return name

    return next_name


class NamePools:
    """Surnames weighted as in life and given names for men and women, drawn once from Faker.

    Faker is slow per name; it is asked once for a few thousand surnames (its weights make 王, 李,
    张 common) and for its given names, whose characters are also recombined into two-character
    names so that a million people do not share a few hundred names.
    """

    def __init__(self, seed: int) -> None:
        from faker import Faker

        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.surnames = [fake.last_name() for _ in range(4000)]
        male = sorted({fake.first_name_male() for _ in range(2000)})
        female = sorted({fake.first_name_female() for _ in range(2000)})
        self.given = {True: male, False: female}
        self.chars = {True: sorted({c for n in male for c in n}), False: sorted({c for n in female for c in n})}

    def name(self, rng: random.Random, male: bool, surname: str = "") -> str:
        surname = surname or rng.choice(self.surnames)
        if rng.random() < 0.35:
            return surname + rng.choice(self.given[male])
        chars = self.chars[male]
        return surname + rng.choice(chars) + rng.choice(chars)


@functools.lru_cache(maxsize=4)
def name_pools(seed: int) -> NamePools:
    """The pools for a seed, built once per process (they are only read)."""
    return NamePools(seed)
