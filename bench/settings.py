"""Settings of the benchmark server: linli's own, plus a URLconf with the ceiling's minimal view.

Only ``make bench`` uses this module (``DJANGO_SETTINGS_MODULE=bench.settings`` for the server it
starts); the product's URLconf stays as it is.
"""

from linli.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
