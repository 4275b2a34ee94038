from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthConfig(AppConfig):
    name = "linli.health"
    verbose_name = _("健康监测与隔离管控")
    default_auto_field = "django.db.models.BigAutoField"
