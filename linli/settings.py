"""Settings for linli. Every value comes from an environment variable (see .env.example)."""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from linli.lib.env import env, envbool, envint, envlist

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("LINLI_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", "False")


def _secret_key() -> str:
    """SECRET_KEY from the environment; else a random key made once and kept in var/ (never a
    published default, so a demo started with `make run` cannot have its sessions forged)."""
    if env("SECRET_KEY"):
        return env("SECRET_KEY")
    import secrets

    path = VAR_DIR / "secret_key"
    try:
        with open(path, "x") as handle:  # exclusive: of two processes starting at once, one writes
            handle.write(secrets.token_urlsafe(50))
        path.chmod(0o600)
    except FileExistsError:
        pass
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "linli.accounts",
    "linli.registry",
    "linli.audit",
    "linli.survey",
    "linli.organisation",
    "linli.rosters",
    "linli.gate",
    "linli.health",
    "linli.supplies",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "linli" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# SQLite is the embedded default: WAL so readers never wait for the writer, a busy timeout so a
# second writer waits instead of failing, and IMMEDIATE transactions so a transaction that will
# write takes the write lock at BEGIN (no "database is locked" half-way through).
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'linli.sqlite3'}"), conn_max_age=envint("DB_CONN_MAX_AGE", "60")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    if env("DATABASE_TEST_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": env("DATABASE_TEST_NAME")}
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    # Persistent connections (DB_CONN_MAX_AGE) are not pinged before each request: the ping is a
    # round trip of its own on every API call (measured on the online scan: +0.28 ms of CPU, and
    # +4 ms of latency on a busy machine, where every round trip waits for a core). A connection
    # that died (a database restart) fails one request with a 500 and is then dropped by Django; the
    # gate's clients resend with the same uuid. DB_HEALTH_CHECKS=True pings again.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = envbool("DB_HEALTH_CHECKS", "False")
    # Django turns psycopg's prepared statements off (prepare_threshold=None, for transaction-mode
    # poolers), which also turns off linli.lib.prepared's explicit prepare=True. A threshold no
    # statement reaches prepares only those: the ORM's client-side binding cursors never prepare.
    # DB_PREPARED=False (behind a pooler such as PgBouncer in transaction mode) turns it off again.
    # Those few statements are written to be planned once, without their values (lookups by key), and
    # are: left to choose, PostgreSQL re-planned the order statement on every execution once the
    # tables had grown — half the orders a second (docs/benchmarks.md, "Planned once"). The setting
    # touches only prepared statements (and the gate's PL/pgSQL scan function); the ORM's are not.
    if envbool("DB_PREPARED", "True"):
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 2**31 - 1)
        DATABASES["default"]["OPTIONS"].setdefault("options", "-c plan_cache_mode=force_generic_plan")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "linli" / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve straight from the app folders too, so a fresh checkout works before collectstatic.
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "linli" / "static"]
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
ROSTER_MAX_UPLOAD_BYTES = envint("ROSTER_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024))
# Large roster imports run in a background thread and the page polls their progress; tests run
# them inline.
ROSTER_IMPORT_IN_BACKGROUND = envbool("ROSTER_IMPORT_IN_BACKGROUND", "True")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "False")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# SMS: the development backend writes codes to the console and the outbox page.
SMS_BACKEND = env("SMS_BACKEND", "linli.accounts.sms.ConsoleBackend")
OTP_TTL_SECONDS = envint("OTP_TTL_SECONDS", "300")
OTP_MAX_ATTEMPTS = envint("OTP_MAX_ATTEMPTS", "5")
# Login throttling: this many failures for one account or one address within the window lock it.
LOGIN_MAX_FAILURES = envint("LOGIN_MAX_FAILURES", "5")
LOGIN_FAILURE_WINDOW_SECONDS = envint("LOGIN_FAILURE_WINDOW_SECONDS", "900")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if not DEBUG:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }
