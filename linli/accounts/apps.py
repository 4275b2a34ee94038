from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "linli.accounts"
    verbose_name = _("账号")
    default_auto_field = "django.db.models.BigAutoField"
