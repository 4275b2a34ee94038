"""A pass scanned before its first day is refused as not yet valid, not as expired.

``gate_scan_online`` (PostgreSQL) had one refusal for both sides of a pass's validity, 通行证已过期:
a guard told a household that its new pass, valid from tomorrow, had expired. The function keeps
migration 0006's text, with that one test split in two; the new message is the last of the texts
``linli.gate.services._scan_texts`` sends (``v_texts[20]``), so every other place stays where it was.
On SQLite only the choices change.
"""

import importlib
from typing import Any

from django.db import migrations, models

_EXPIRED = """\
        ELSIF NOT (p_valid_from <= p_local_date AND p_local_date <= p_valid_until) THEN
            reason := 'expired'; message := v_texts[4];
"""
_SPLIT = """\
        ELSIF p_local_date < p_valid_from THEN
            reason := 'not_yet_valid';
            message := replace(v_texts[20], E'\\x01date\\x01', to_char(p_valid_from, 'MM-DD'));
        ELSIF p_local_date > p_valid_until THEN
            reason := 'expired'; message := v_texts[4];
"""


def _previous() -> Any:
    return importlib.import_module("linli.gate.migrations.0006_scan_answer_columns")


def _online() -> str:
    text: str = _previous().ONLINE
    if text.count(_EXPIRED) != 1:
        raise RuntimeError("gate 0008: the validity test of migration 0006's function was not found once")
    return text.replace(_EXPIRED, _SPLIT)


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: "%" is SQL's modulo here
            cursor.execute(_online())  # same arguments and columns: CREATE OR REPLACE does


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(_previous().ONLINE)


class Migration(migrations.Migration):
    dependencies = [("gate", "0007_state_compound_covered_index")]

    operations = [
        migrations.AlterField(
            model_name="gatescan",
            name="reason",
            field=models.CharField(
                choices=[
                    ("ok", "通过"),
                    ("quota", "外出次数已用完"),
                    ("hours", "不在允许外出时段"),
                    ("sealed", "本户处于封控中"),
                    ("observation", "本户处于居家观察中"),
                    ("hold", "本户通行证已暂停"),
                    ("fever", "体温异常"),
                    ("health_code", "健康码异常"),
                    ("revoked", "通行证已作废"),
                    ("expired", "通行证已过期"),
                    ("not_yet_valid", "通行证尚未生效"),
                    ("forged", "通行证无效或伪造"),
                    ("wrong_compound", "非本小区通行证"),
                    ("not_member", "非指定外出人员"),
                    ("ticket_used", "出入券已使用"),
                    ("no_ticket", "请出示本期出入券"),
                ],
                default="ok",
                max_length=16,
                verbose_name="原因",
            ),
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
