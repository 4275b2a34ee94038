from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveyConfig(AppConfig):
    name = "linli.survey"
    verbose_name = _("入户摸排")
    default_auto_field = "django.db.models.BigAutoField"
