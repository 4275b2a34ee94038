from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GateConfig(AppConfig):
    name = "linli.gate"
    verbose_name = _("门岗管理")
    default_auto_field = "django.db.models.BigAutoField"
