"""Pages of the gate: the checkpoint page a guard scans passes with (A3), online and offline.

The page is an installable web app: its manifest and service worker are served under ``/gate/`` so
that the worker's scope covers every checkpoint page. The worker keeps the page and its static files;
the page itself keeps the checkpoint's offline bundle and its queue of scans in IndexedDB
(``static/gate/``). The server side of the scans is ``api_checkpoint.py`` (docs/gate.md).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from linli.gate.api_checkpoint import SCAN_ROLES
from linli.gate.choices import Direction, HoldReason, Reason
from linli.gate.models import Checkpoint
from linli.lib import scope
from linli.lib.views import offline_worker
from linli.lib.wording import separators
from linli.registry.choices import HealthCode

# What the service worker keeps for a reload without network (paths under STATIC_URL).
SHELL_FILES = (
    "linli/app.css",
    "gate/checkpoint.css",
    "gate/checkpoint.js",
    "gate/passes.js",
    "gate/rules.js",
    "gate/store.js",
    "gate/vendor/jsQR.js",
    "linli/qrcamera.js",
    "linli/kept.js",
    "gate/vendor/noble-ed25519.js",
    "gate/icon-192.png",
    "gate/icon-512.png",
)


def _require_gate_staff(user: Any) -> None:
    """The checkpoint pages are for the staff who may record scans (the API's roles)."""
    if scope.is_unrestricted(user):
        return
    if user.is_resident or scope.user_level(user) is None or user.role not in SCAN_ROLES:
        raise PermissionDenied(_("您的角色不能在卡口登记出入"))


def _checkpoints(user: Any) -> Any:
    """The active checkpoints the user may work at: in scope, and only their own when bound to one."""
    checkpoints = scope.visible(Checkpoint.objects.filter(is_active=True).select_related("compound"), user)
    if getattr(user, "checkpoint_id", None) and not user.is_superuser:
        checkpoints = checkpoints.filter(pk=user.checkpoint_id)
    return checkpoints


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_gate_staff(user)
    if getattr(user, "checkpoint_id", None) and not user.is_superuser:
        return redirect("gate:checkpoint", pk=user.checkpoint_id)
    checkpoints = list(_checkpoints(user).order_by("compound__name", "name"))
    return render(request, "gate/index.html", {"checkpoints": checkpoints})


def _page_strings() -> dict[str, str]:
    """Every sentence the page's script shows, translated here ({name} placeholders filled in JS)."""
    return {
        # The punctuation the script puts between a household's members and between messages.
        **separators(),
        "online": _("在线"),
        "offline": _("离线"),
        "server_down": _("服务器暂不可用，扫码已暂存"),
        "queued": _("待同步 {n} 条"),
        "synced": _("已全部同步"),
        "syncing": _("正在同步…"),
        "rejected": _("{n} 条被服务器拒收，请联系社区"),
        # A checkpoint that will not take this account's queued scans (the guard moved out of its compound).
        "sync_refused": _("{gate}：{n} 条扫码未能上传（{reason}），仍保存在本机，请联系社区"),
        "sync_not_found": _("本账号已不能在该卡口登记，或该卡口已不存在"),
        "sync_forbidden": _("本账号不能在该卡口登记"),
        "gate_number": _("卡口 {id}"),
        "login_needed": _("登录已失效：扫码照常离线记录，请重新登录后同步"),
        "bundle_at": _("离线名单更新于 {time}"),
        "no_bundle": _("尚未下载离线名单：请联网打开本页一次"),
        "no_verifier": _("本机无法离线核验通行证：请联网后刷新本页"),
        "allowed_out": _("可以外出"),
        "allowed_in": _("欢迎回家"),
        "refused": _("不予通行"),
        "local_verdict": _("离线判定，联网后自动上传"),
        "not_kept": _("离线判定，但手机存储已满，本条未能保存：请手工登记"),
        "not_persistent": _(
            "本浏览器不能在手机上保存记录（可能开着无痕模式）：断网时的扫码只存在本页，请勿关闭本页，联网后会自动上传"
        ),
        "server_verdict": _("服务器判定"),
        "need_temperature": _("请先测量并填写体温"),
        "bad_temperature": _("体温应在 34.0–43.0 ℃ 之间，保留一位小数"),
        "bad_number": _("通行证号校验位不对，请核对后重新输入"),
        "need_credential": _("请输入10位通行证号，或扫描二维码"),
        "camera_failed": _("无法打开摄像头：请允许使用摄像头，或拍照识别、手动输入通行证号"),
        "camera_hint": _("将二维码对准取景框"),
        "no_qr_in_photo": _("照片中没有识别到二维码，请重拍或手动输入"),
        "server_error": _("服务器未能处理：{detail}"),
        "room": _("房号"),
        "members": _("指定外出人员"),
        "due_back": _("可以外出，请于 {time} 前返回"),
        "quota": _("本户{days}天内已外出{used}次，下次可外出时间 {next}"),
        "hours": _("允许外出时段 {start}–{end}"),
        "fever_offline": _("体温 {t}℃，禁止通行，联网后通知社区"),
        "exempt": _("免检通行：{kind}"),
        "low_risk": _("低风险地区，正常通行"),
        "held_in": _("本户处于{reason}中，请直接回家"),
        "ticket_ok": _("出入券已回收，请按时返回"),
        "ticket_other_period": _("不是本期出入券"),
        "not_yet_valid": _("通行证尚未生效，{date} 起可用"),
        # Counts in words ("两天内已外出一次") where the language has them; empty means digits.
        "count_words": "零一两三四五六七八九十" if (get_language() or "").startswith("zh") else "",
    }


@login_required
def checkpoint(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    _require_gate_staff(user)
    found = _checkpoints(user).filter(pk=pk).first()
    if found is None:
        raise Http404
    api = f"/api/v1/gate/checkpoints/{found.pk}"
    config = {
        "checkpoint": {"id": found.pk, "name": found.name, "compound": found.compound.name},
        # Who scans: kept with each queued scan, so a scan synced later by another guard on the same
        # phone is still recorded as its own guard's.
        "guard": {"id": request.user.pk},
        "urls": {
            "bundle": f"{api}/bundle",
            "scan": f"{api}/scan",
            "sync": f"{api}/sync",
            # Queued scans of other checkpoints go to theirs.
            "sync_of": "/api/v1/gate/checkpoints/{id}/sync",
            "service_worker": reverse("gate:service_worker"),
            "login": settings.LOGIN_URL,
        },
        "strings": _page_strings(),
        "reasons": {str(value): str(label) for value, label in Reason.choices},
        "holds": {str(value): str(label) for value, label in HoldReason.choices},
    }
    context = {
        "checkpoint": found,
        "config": config,
        "directions": Direction.choices,
        "health_codes": [choice for choice in HealthCode.choices if choice[0] != HealthCode.UNKNOWN],
    }
    return render(request, "gate/checkpoint.html", context)


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest: the checkpoint page installs on a phone's home screen."""
    data = {
        "name": _("邻里卡口值守"),
        "short_name": _("卡口"),
        "description": _("扫码核验出入，断网也能用"),
        "lang": get_language() or settings.LANGUAGE_CODE,
        "start_url": reverse("gate:index"),
        "scope": reverse("gate:index"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f5f6f8",
        "theme_color": "#c8102e",
        "icons": [
            {"src": static("gate/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("gate/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any maskable"},
        ],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


@require_GET
@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served under /gate/ so that its scope covers the checkpoint pages; the start
    page (/gate/, which redirects a guard to their checkpoint) opens the last checkpoint page offline."""
    scope = reverse("gate:index")
    return offline_worker(
        request,
        name="gate",
        scope=scope,
        shell_files=SHELL_FILES,
        kept="^" + re.escape(scope) + r"checkpoints/\d+/$",
        start=scope,
        offline_text=_("网络已断开，且本机还没有保存卡口页面：请联网后打开一次。"),
    )


urlpatterns = [
    path("", index, name="index"),
    path("checkpoints/<int:pk>/", checkpoint, name="checkpoint"),
    path("manifest.webmanifest", manifest, name="manifest"),
    path("sw.js", service_worker, name="service_worker"),
]
