"""Accounts, their place in the tree, one-time codes, the SMS outbox, API tokens, login throttling."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.accounts.choices import ADMIN_ROLES, GATE_ROLES, REGISTRY_EDIT_ROLES, REVEAL_ROLES, Role
from linli.lib.scope import LEVELS, ancestors_of, user_level


class User(AbstractUser):
    """A staff member or a resident; scoped to one node of the tree (see linli.lib.scope)."""

    # Accounts are themselves scoped: a community worker manages the accounts of their community.
    SCOPE_LOOKUPS = {level: f"{level}_id" for level in LEVELS}

    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.RESIDENT)
    phone = models.CharField(_("手机号"), max_length=11, blank=True, db_index=True)
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    street = models.ForeignKey("registry.Street", models.PROTECT, null=True, blank=True, related_name="+")
    community = models.ForeignKey("registry.Community", models.PROTECT, null=True, blank=True, related_name="+")
    grid = models.ForeignKey("registry.Grid", models.PROTECT, null=True, blank=True, related_name="+")
    compound = models.ForeignKey("registry.Compound", models.PROTECT, null=True, blank=True, related_name="+")
    building = models.ForeignKey("registry.Building", models.PROTECT, null=True, blank=True, related_name="+")
    unit = models.ForeignKey("registry.Unit", models.PROTECT, null=True, blank=True, related_name="+")
    household = models.ForeignKey("registry.Household", models.CASCADE, null=True, blank=True, related_name="+")
    supplier_name = models.CharField(_("所属商超"), max_length=100, blank=True)
    # Supplier staff have no place in the tree: they see the records of their supplier (linli.supplies).
    supplier = models.ForeignKey(
        "supplies.Supplier", models.SET_NULL, null=True, blank=True, related_name="staff", verbose_name=_("商超")
    )
    # A gate guard works at one checkpoint of the compound the account is scoped to.
    checkpoint = models.ForeignKey(
        "gate.Checkpoint", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("值守卡口")
    )

    class Meta:
        verbose_name = _("账号")
        verbose_name_plural = _("账号")

    def __str__(self) -> str:
        return self.display_name or self.username

    def set_scope(self, node: Any) -> None:
        """Scope the account to a tree node (and so to everything under it)."""
        for key, value in ancestors_of(node).items():
            setattr(self, key, value)

    @property
    def scope_level(self) -> str | None:
        return user_level(self)

    @property
    def scope_node(self) -> Any:
        level = self.scope_level
        return getattr(self, level) if level else None

    @property
    def scope_path(self) -> list[Any]:
        """The nodes from the street down to the account's node."""
        nodes = []
        for level in LEVELS:
            if getattr(self, f"{level}_id", None):
                nodes.append(getattr(self, level))
        return nodes

    @property
    def is_resident(self) -> bool:
        return self.role == Role.RESIDENT and not self.is_superuser

    @property
    def can_reveal(self) -> bool:
        return self.is_superuser or self.role in REVEAL_ROLES

    @property
    def can_edit_registry(self) -> bool:
        return self.is_superuser or self.role in REGISTRY_EDIT_ROLES

    @property
    def works_at_gate(self) -> bool:
        """Staff who record scans at checkpoints and manage the gate (see linli.gate)."""
        return self.is_superuser or self.role in GATE_ROLES

    @property
    def works_in_health(self) -> bool:
        """Staff who see the health module's pages (see linli.health.permissions)."""
        from linli.health.permissions import VIEW_ROLES

        return self.is_superuser or self.role in VIEW_ROLES

    @property
    def is_back_office(self) -> bool:
        return self.is_superuser or self.role in ADMIN_ROLES


class OneTimeCode(models.Model):
    """A login code sent by SMS to a resident's phone; stored hashed, short-lived, few tries."""

    phone = models.CharField(_("手机号"), max_length=11, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("验证码")
        verbose_name_plural = _("验证码")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def hash(phone: str, code: str) -> str:
        return hashlib.sha256(f"{phone}:{code}".encode()).hexdigest()


class SmsMessage(models.Model):
    """Every SMS the platform sends, whatever the backend: the staff outbox."""

    SCOPE_LOOKUPS = {"street": "street_id", "community": "community_id"}
    phone = models.CharField(_("手机号"), max_length=11)
    body = models.TextField(_("内容"))
    backend = models.CharField(_("通道"), max_length=50)
    street = models.ForeignKey("registry.Street", models.CASCADE, null=True, blank=True, related_name="+")
    community = models.ForeignKey("registry.Community", models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("发送时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("短信")
        verbose_name_plural = _("短信发件箱")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A bearer token for programmatic clients; only its hash is stored."""

    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens", verbose_name=_("账号"))
    name = models.CharField(_("名称"), max_length=100)
    # Shown to tell tokens apart, never looked up: no index. The hash is unique through a constraint,
    # not unique=True, which on PostgreSQL also builds a varchar_pattern_ops "_like" index that no
    # lookup uses. Each index of the table is opened at every order of a rush (the order statement
    # may touch last_used_at), whether or not the row is written.
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["key_hash"], name="api_token_key_hash_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class LoginFailure(models.Model):
    """A failed login, counted per username/phone and per address to throttle guessing."""

    key = models.CharField(max_length=150, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("登录失败")
        verbose_name_plural = _("登录失败")

    def __str__(self) -> str:
        return self.key
