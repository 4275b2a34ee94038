"""The checkpoint page and its web app files: who gets which checkpoint, and what the page is given (A3)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from linli.gate import services
from linli.gate.models import Checkpoint
from linli.gate.views_checkpoint import SHELL_FILES
from linli.lib.testing import Personas
from linli.lib.views import STATIC_DIR

pytestmark = pytest.mark.django_db


def page_config(response) -> dict:  # type: ignore[no-untyped-def]
    match = re.search(
        r'<script id="gate-config" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, "the page carries its configuration as a JSON block"
    return json.loads(match.group(1))


@pytest.fixture
def checkpoints(personas: Personas) -> dict[str, Checkpoint]:
    tree = personas.tree
    return {
        "east": services.checkpoint_create(compound=tree.p1, name="东门"),
        "west": services.checkpoint_create(compound=tree.p1, name="西门"),
        "other_grid": services.checkpoint_create(compound=tree.p2, name="南门"),
        "other_community": services.checkpoint_create(compound=tree.p3, name="北门"),
    }


def test_guard_bound_to_a_checkpoint_is_sent_to_it_and_only_it(personas, client_for, checkpoints) -> None:  # type: ignore[no-untyped-def]
    # given: the guard of 阳光小区 works at its east gate
    guard = personas.gate_guard
    guard.checkpoint = checkpoints["east"]
    guard.save()
    client = client_for(guard)

    # when / then: the gate's start page sends them to their checkpoint
    response = client.get(reverse("gate:index"))
    assert response.status_code == 302
    assert response["Location"] == reverse("gate:checkpoint", kwargs={"pk": checkpoints["east"].pk})

    # and that page opens, with the API addresses of that checkpoint
    response = client.get(response["Location"])
    assert response.status_code == 200
    config = page_config(response)
    assert config["checkpoint"] == {"id": checkpoints["east"].pk, "name": "东门", "compound": "阳光小区"}
    assert config["guard"] == {"id": guard.pk}  # kept with each queued scan (see sync)
    assert config["urls"]["scan"] == f"/api/v1/gate/checkpoints/{checkpoints['east'].pk}/scan"
    assert config["urls"]["sync"] == f"/api/v1/gate/checkpoints/{checkpoints['east'].pk}/sync"

    # but the other gate of the same compound is not theirs: 404, as if it did not exist
    assert client.get(reverse("gate:checkpoint", kwargs={"pk": checkpoints["west"].pk})).status_code == 404


def test_unbound_guard_sees_the_checkpoints_of_their_compound(personas, client_for, checkpoints) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.gate_guard)
    response = client.get(reverse("gate:index"))
    assert response.status_code == 200
    assert [c.name for c in response.context["checkpoints"]] == ["东门", "西门"]
    assert client.get(reverse("gate:checkpoint", kwargs={"pk": checkpoints["west"].pk})).status_code == 200
    for other in ("other_grid", "other_community"):
        assert client.get(reverse("gate:checkpoint", kwargs={"pk": checkpoints[other].pk})).status_code == 404


def test_community_worker_sees_every_checkpoint_of_their_community_only(personas, client_for, checkpoints) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.community_worker)
    response = client.get(reverse("gate:index"))
    text = response.content.decode()
    assert "阳光小区 · 东门" in text and "和谐家园 · 南门" in text
    assert "北门" not in text and "团结新村" not in text
    assert client.get(reverse("gate:checkpoint", kwargs={"pk": checkpoints["other_grid"].pk})).status_code == 200
    assert client.get(reverse("gate:checkpoint", kwargs={"pk": checkpoints["other_community"].pk})).status_code == 404


def test_inactive_checkpoint_is_not_listed_nor_opened(personas, client_for, checkpoints) -> None:  # type: ignore[no-untyped-def]
    Checkpoint.objects.filter(pk=checkpoints["west"].pk).update(is_active=False)
    client = client_for(personas.gate_guard)
    assert [c.name for c in client.get(reverse("gate:index")).context["checkpoints"]] == ["东门"]
    assert client.get(reverse("gate:checkpoint", kwargs={"pk": checkpoints["west"].pk})).status_code == 404


@pytest.mark.parametrize("persona", ["resident", "supplier", "medic", "building_lead"])
def test_roles_that_do_not_scan_are_refused(personas, client_for, checkpoints, persona) -> None:  # type: ignore[no-untyped-def]
    client = client_for(getattr(personas, persona))
    assert client.get(reverse("gate:index")).status_code == 403
    assert client.get(reverse("gate:checkpoint", kwargs={"pk": checkpoints["east"].pk})).status_code == 403


def test_pages_need_a_login(checkpoints) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for url in (reverse("gate:index"), reverse("gate:checkpoint", kwargs={"pk": checkpoints["east"].pk})):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_page_is_chinese_and_carries_every_message_of_the_script(personas, client_for, checkpoints) -> None:  # type: ignore[no-untyped-def]
    response = client_for(personas.gate_guard).get(reverse("gate:checkpoint", kwargs={"pk": checkpoints["east"].pk}))
    text = response.content.decode()
    for label in ("外出", "返回", "体温（℃）", "健康码", "扫码", "拍照识别", "核验"):
        assert label in text
    assert 'rel="manifest"' in text and "/static/gate/checkpoint.js" in text
    config = page_config(response)
    assert config["reasons"]["sealed"] == "本户处于封控中"
    assert config["strings"]["quota"] == "本户{days}天内已外出{used}次，下次可外出时间 {next}"
    assert config["holds"]["home_observation"] == "居家观察"

    english = client_for(personas.gate_guard).get(
        reverse("gate:checkpoint", kwargs={"pk": checkpoints["east"].pk}), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert page_config(english)["strings"]["count_words"] == ""  # digits, not Chinese count words
    # right for one outing and for many, in a one-day window or longer (the offline verdict's words)
    assert page_config(english)["strings"]["quota"] == (
        "Outings used in this {days}-day period: {used}; next outing allowed from {next}"
    )


def test_the_notice_of_scans_a_gate_would_not_take_is_chinese_or_english(personas, client_for, checkpoints) -> None:  # type: ignore[no-untyped-def]
    url = reverse("gate:checkpoint", kwargs={"pk": checkpoints["east"].pk})
    chinese = page_config(client_for(personas.gate_guard).get(url))
    assert chinese["urls"]["sync_of"] == "/api/v1/gate/checkpoints/{id}/sync"
    assert chinese["strings"]["sync_refused"] == "{gate}：{n} 条扫码未能上传（{reason}），仍保存在本机，请联系社区"
    assert chinese["strings"]["sync_not_found"] == "本账号已不能在该卡口登记，或该卡口已不存在"
    english = page_config(client_for(personas.gate_guard).get(url, HTTP_ACCEPT_LANGUAGE="en"))["strings"]
    assert english["sync_refused"] == (
        "{gate}: scans not sent: {n} ({reason}). They are kept on this phone; please contact the community"
    )
    assert english["sync_not_found"] == "this account may no longer record scans at this gate, or the gate is gone"
    assert english["sync_forbidden"] == "this account may not record scans at this gate"
    assert english["gate_number"] == "Gate {id}"


def test_the_status_line_of_a_failing_server_is_chinese_or_english(personas, client_for, checkpoints) -> None:  # type: ignore[no-untyped-def]
    url = reverse("gate:checkpoint", kwargs={"pk": checkpoints["east"].pk})
    chinese = page_config(client_for(personas.gate_guard).get(url))
    assert chinese["strings"]["server_down"] == "服务器暂不可用，扫码已暂存"
    english = page_config(client_for(personas.gate_guard).get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert english["strings"]["server_down"] == "Server unavailable, scans kept on this phone"


def test_manifest_makes_the_gate_installable() -> None:
    response = Client().get(reverse("gate:manifest"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/gate/" and manifest["scope"] == "/gate/"
    assert manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    assert manifest["name"] == "邻里卡口值守"


def test_service_worker_is_served_under_gate_and_lists_files_that_exist() -> None:
    response = Client().get(reverse("gate:service_worker"))
    assert response.status_code == 200
    assert reverse("gate:service_worker") == "/gate/sw.js"  # its scope covers /gate/checkpoints/<id>/
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    body = response.content.decode()
    for name in SHELL_FILES:
        assert (STATIC_DIR / name).is_file(), name
        assert f'"/static/{name}"' in body
    version = re.search(r'const VERSION = "([0-9a-f]{16})"', body)
    assert version, "the worker names the version of the files it keeps"


def test_vendored_libraries_are_documented() -> None:
    readme = (STATIC_DIR / "gate" / "vendor" / "README.md").read_text()
    for name in ("jsQR.js", "noble-ed25519.js"):
        assert (STATIC_DIR / "gate" / "vendor" / name).is_file()
        assert name in readme
