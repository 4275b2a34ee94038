import os

from django.core.wsgi import get_wsgi_application

from linli.lib.collector import freeze_after_start_up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
application = get_wsgi_application()
freeze_after_start_up()
