"""Roster imports 台账导入 (SPEC R7): one row per uploaded file, with its progress and report."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("等待中")
    VALIDATING = "validating", _("校验中")
    WRITING = "writing", _("写入中")
    DONE = "done", _("已完成")
    REJECTED = "rejected", _("有错误，未导入")
    FAILED = "failed", _("失败")


class ImportJob(models.Model):
    SCOPE_LOOKUPS = {"street": "street_id", "community": "community_id", "grid": "grid_id"}
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("导入人")
    )
    street = models.ForeignKey("registry.Street", models.SET_NULL, null=True, blank=True, related_name="+")
    community = models.ForeignKey("registry.Community", models.SET_NULL, null=True, blank=True, related_name="+")
    grid = models.ForeignKey("registry.Grid", models.SET_NULL, null=True, blank=True, related_name="+")
    file_name = models.CharField(_("文件名"), max_length=255)
    file_path = models.CharField(max_length=500, blank=True)
    only_good_rows = models.BooleanField(_("只导入正确的行"), default=False)
    dry_run = models.BooleanField(_("仅校验"), default=False)
    status = models.CharField(_("状态"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    error_count = models.PositiveIntegerField(_("错误行数"), default=0)
    errors = models.JSONField(_("错误报告"), default=list, blank=True)
    created_people = models.PositiveIntegerField(_("新增人员"), default=0)
    updated_people = models.PositiveIntegerField(_("更新人员"), default=0)
    created_households = models.PositiveIntegerField(_("新增户"), default=0)
    # Places created (compounds, buildings, units), rows skipped, and notes such as ignored columns.
    summary = models.JSONField(_("摘要"), default=dict, blank=True)
    message = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_running(self) -> bool:
        return self.status in (ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.WRITING)

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0 if self.status in (ImportStatus.PENDING, ImportStatus.VALIDATING) else 100
        return min(100, round(100 * self.processed_rows / self.total_rows))
