from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RostersConfig(AppConfig):
    name = "linli.rosters"
    verbose_name = _("台账导入导出")
    default_auto_field = "django.db.models.BigAutoField"
