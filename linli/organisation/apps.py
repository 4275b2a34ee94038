from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationConfig(AppConfig):
    name = "linli.organisation"
    verbose_name = _("组织与包保")
    default_auto_field = "django.db.models.BigAutoField"
