from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "linli.registry"
    verbose_name = _("人口台账")
    default_auto_field = "django.db.models.BigAutoField"
