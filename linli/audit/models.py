"""The audit log (SPEC O6): every change to registry data and every reveal of a masked field."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    REVEAL = "reveal", _("查看完整信息")
    IMPORT = "import", _("导入")
    EXPORT = "export", _("导出")


class AuditEvent(models.Model):
    """Who did what to which record, when, and what changed."""

    SCOPE_LOOKUPS = {"street": "street_id", "community": "community_id"}
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("操作人")
    )
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=10, choices=AuditAction.choices)
    model = models.CharField(_("对象类型"), max_length=100)
    object_pk = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    # Where in the tree the record lives, so that a community's admins see their community's log.
    street = models.ForeignKey("registry.Street", models.SET_NULL, null=True, blank=True, related_name="+")
    community = models.ForeignKey("registry.Community", models.SET_NULL, null=True, blank=True, related_name="+")
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["model", "object_pk"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()} {self.object_repr}"
