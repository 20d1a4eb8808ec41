"""
The one settings module. Every value that differs between machines is read from
the environment (or a `.env` file beside manage.py); `.env.example` lists them all.
"""

import hashlib
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from portal.project import process

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """A boolean setting that refuses anything it cannot read, instead of guessing False."""
    raw = env.str(name, default="")
    if raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, not {raw!r}.")


def env_seconds(name: str, default: int, *, minimum: int = 0) -> int:
    """A whole number of seconds, refused below `minimum`."""
    value = env.int(name, default=default)
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be {minimum} seconds or more, not {value}.")
    return value


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdefghij"

# Keys the access log's entries and checkpoints are signed with, newest first: entries are
# written with the first; the rest stay listed as long as entries signed with them are kept
# (AUDIT_RETENTION_DAYS), or those entries can no longer be verified.
AUDIT_SIGNING_KEYS = env.list("AUDIT_SIGNING_KEYS", default=[])
if not AUDIT_SIGNING_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEYS must be set when DEBUG is off.")
    # Derived, not SECRET_KEY itself: the log's MACs then say nothing about the secret key.
    AUDIT_SIGNING_KEYS = [hashlib.sha256(f"portal.audit|{SECRET_KEY}".encode()).hexdigest()]
if any(len(key) < 32 for key in AUDIT_SIGNING_KEYS):
    raise ImproperlyConfigured("Each of AUDIT_SIGNING_KEYS must be 32 characters or longer.")

# Days the access log keeps an entry; `audit_prune` (crontab) deletes older ones. Six years
# by default: what health-records rules commonly ask of such logs.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=2190)
if AUDIT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        f"AUDIT_RETENTION_DAYS must be 1 day or more, not {AUDIT_RETENTION_DAYS}."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Before django_tasks_db, so that its `db_worker` is the portal's worker (portal/worker.py).
    "portal",
    "django_tasks_db",
    "portal.project",
    "appointments",
    "chat",
    "policies",
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
]

MIDDLEWARE = [
    # First, so that every response carries the whole policy, even those answered before a
    # view: HTTPS redirects, static files, refusals.
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Right after the static files, so that every answer of the app's own, a refusal made by
    # a middleware below included, is kept by no one and shown in no frame.
    "portal.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Before anything reads a cookie, a form or the database.
    "portal.middleware.RefuseNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.middleware.SessionTimeoutMiddleware",
    "portal.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Around the views alone: what they showed of client records is logged in one INSERT.
    "portal.middleware.AccessLogMiddleware",
    # Axes must come last so it sees the outcome of every sign-in attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.project.urls"
FORM_RENDERER = "portal.forms.PortalFormRenderer"
WSGI_APPLICATION = "portal.project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
                "chat.context_processors.unread",
            ],
            "builtins": ["portal.templatetags.portal_tags"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# How long one statement may run on PostgreSQL before the server cancels it, in seconds (0: no
# limit). A web request whose statement runs out answers 503 within it (portal.views.server_error)
# instead of holding its gunicorn worker until it is killed. Commands (migrations, crontab jobs,
# the worker: manage.py marks its process, see portal/project/process.py) may run longer.
DATABASE_STATEMENT_TIMEOUT = env_seconds("DATABASE_STATEMENT_TIMEOUT", default=5)
# No background task runs longer than this; one that does is given again by a fresh worker
# process (portal/worker.py). The worker's process manager must give it longer than this to
# stop (README: TimeoutStopSec), and its statements time out at half of it.
PORTAL_TASK_DEADLINE = timedelta(seconds=env_seconds("TASK_DEADLINE", default=60, minimum=4))
DATABASE_COMMAND_STATEMENT_TIMEOUT = env_seconds("DATABASE_COMMAND_STATEMENT_TIMEOUT", default=120)
# How long opening a connection to PostgreSQL may take, in seconds, for each address the host
# name has (libpq's minimum is 2).
DATABASE_CONNECT_TIMEOUT = env_seconds("DATABASE_CONNECT_TIMEOUT", default=3, minimum=2)

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    sqlite_options = DATABASES["default"].setdefault("OPTIONS", {})
    sqlite_options.update(
        {
            # IMMEDIATE takes the write lock when a transaction starts, so concurrent
            # writers queue on the busy timeout instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            # Seconds a writer waits for the lock; `?timeout=` in DATABASE_URL changes it.
            "timeout": float(sqlite_options.get("timeout", 20)),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests run on a file, not in memory, so that concurrent writers really contend.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(BASE_DIR / ".test-db.sqlite3")
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # libpq sends these as the connection opens, so the timeout holds for every statement on
    # it with no SET that code could forget (behind PgBouncer, see the README). Added to any
    # `options` that DATABASE_URL carries.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    timeout = (
        DATABASE_COMMAND_STATEMENT_TIMEOUT if process.is_command() else DATABASE_STATEMENT_TIMEOUT
    )
    if process.is_worker():
        # Half a task's deadline at most: a statement stuck behind a lock is then a database
        # error, retried later, not a task past its deadline, which ends the worker.
        half = int(PORTAL_TASK_DEADLINE.total_seconds() // 2)
        timeout = min(timeout, half) if timeout else half
    options["options"] = f"{options.get('options', '')} -c statement_timeout={timeout}s".strip()
    options["connect_timeout"] = DATABASE_CONNECT_TIMEOUT
    # The hand-written statements (portal.sql.statement_cursor) are prepared on their first
    # run on a connection; the ORM's client-bound statements never are. Off behind a pooler in
    # transaction mode that does not carry prepared statements over (PgBouncer before 1.21).
    options["prepare_threshold"] = 0 if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and sign-in -------------------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "sign-in"
LOGIN_REDIRECT_URL = "appointments:list"
LOGOUT_REDIRECT_URL = "sign-in"
PASSWORD_RESET_TIMEOUT = 60 * 60  # a reset link expires after one hour
# Invitations to set a first password (new clients, new providers).
INVITATION_MAX_AGE = timedelta(days=env.int("INVITATION_DAYS", default=3))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Five failures for one email from one address within 15 minutes refuse further
# attempts for 15 minutes; the lock lifts by itself, no admin needed.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_USE_ATTEMPT_EXPIRATION = True
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "portal.auth.axes_username"
AXES_LOCKOUT_CALLABLE = "portal.views.sign_in_locked_out"
AXES_RESET_ON_SUCCESS = True
# The stock database handler, with its writes serialised per email and address: the stock one
# deadlocks when a sign-in clears the count while failures add to it (portal/axes_handler.py).
AXES_HANDLER = "portal.axes_handler.LockingDatabaseHandler"
# How many reverse proxies stand in front of the app, each appending the address it received
# the request from to X-Forwarded-For. 0: the header is ignored, and clients cannot pretend to
# be anyone. The portal reads it itself (portal/client_address.py says why not with
# django-ipware), so axes never hands it to django-ipware; the name is the one deployments use.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0)
if AXES_IPWARE_PROXY_COUNT < 0:
    raise ImproperlyConfigured("AXES_IPWARE_PROXY_COUNT must be 0 or more.")
AXES_CLIENT_IP_CALLABLE = "portal.client_address.client_address"

# Everyone who reaches the admin confirms a second factor (TOTP). Switch off only for demos.
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", default=True)
OTP_TOTP_ISSUER = env.str("PORTAL_NAME", default="Client Portal")

# --- Sessions: 15 minutes idle, 12 hours at most ---------------------------------------------
SESSION_IDLE_TIMEOUT = timedelta(minutes=env.int("SESSION_IDLE_MINUTES", default=15))
SESSION_MAX_AGE = timedelta(hours=12)
SESSION_COOKIE_AGE = int(SESSION_MAX_AGE.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Django's database sessions, each row saying whose it is, from which device and address, so
# that people can see and end their own (Account > Signed-in sessions).
SESSION_ENGINE = "portal.sessions"

# --- Security headers ----------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

SECURE_CSP = {
    "default-src": [CSP.SELF],
    # Scripts run only when they carry this response's nonce: no inline handlers, no eval.
    "script-src": [CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}


# --- Email ----------------------------------------------------------------------------------
# Seconds one whole attempt at an email may take (connecting, signing in, handing it over)
# before the worker gives it up and retries later.
email_timeout = env.int("EMAIL_TIMEOUT", default=10)
PORTAL_EMAIL_TIMEOUT = email_timeout
# How long an email that could not be delivered is retried before it is marked failed.
PORTAL_EMAIL_RETRY_FOR = timedelta(hours=env.int("EMAIL_RETRY_HOURS", default=48))


def mailer_from_url(url_setting: dict) -> dict:
    """One MAILERS entry from what django-environ reads out of EMAIL_URL."""
    backend = url_setting["EMAIL_BACKEND"]
    options: dict = {}
    if backend.endswith("smtp.EmailBackend"):
        # Django's, told where in the conversation an email may have been delivered.
        backend = "portal.mail.SMTPBackend"
        options = {
            "host": url_setting.get("EMAIL_HOST") or "localhost",
            "port": url_setting.get("EMAIL_PORT") or 25,
            "username": url_setting.get("EMAIL_HOST_USER") or "",
            "password": url_setting.get("EMAIL_HOST_PASSWORD") or "",
            "use_tls": bool(url_setting.get("EMAIL_USE_TLS")),
            "use_ssl": bool(url_setting.get("EMAIL_USE_SSL")),
            "timeout": email_timeout,
        }
    elif backend.endswith("filebased.EmailBackend"):
        options = {"file_path": url_setting.get("EMAIL_FILE_PATH")}
    return {"BACKEND": backend, "OPTIONS": options}


MAILERS = {"default": mailer_from_url(env.email_url("EMAIL_URL", default="consolemail://"))}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Client Portal <portal@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Background work ------------------------------------------------------------------------
# Tasks are rows in the app's own database, written in the transaction of the change that
# queues them; `manage.py db_worker` runs them.
# Two queues, each a lane of the worker: `default` for work on the database, `email` for
# handing emails to the mail server, which may stall (portal/worker.py says why).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "email"],
    }
}
# How long a task that failed on a database error is retried, from when it was queued.
PORTAL_TASK_RETRY_FOR = timedelta(hours=env.int("TASK_RETRY_HOURS", default=48))
if timedelta(seconds=email_timeout) >= PORTAL_TASK_DEADLINE:
    raise ImproperlyConfigured("EMAIL_TIMEOUT must be shorter than TASK_DEADLINE.")

# --- Time and language ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# Dates as the portal writes them, where Django writes them itself (the admin's lists and pages).
FORMAT_MODULE_PATH = ["portal.formats"]
USE_TZ = True
USE_I18N = True
# The zone a user sees until they (or their browser) choose one.
PORTAL_DEFAULT_TIME_ZONE = env.str("PORTAL_DEFAULT_TIME_ZONE", default="America/New_York")
PORTAL_NAME = env.str("PORTAL_NAME", default="Client Portal")
# Links in emails and calendar files point here.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# The domain part of calendar UIDs and Message-IDs (their other part is random). A domain the
# practice owns; `check --deploy` warns while it is left at the default.
PORTAL_CALENDAR_DOMAIN = env.str("PORTAL_CALENDAR_DOMAIN", default="client-portal.invalid")
PORTAL_ORGANIZER_EMAIL = env.str("PORTAL_ORGANIZER_EMAIL", default="appointments@example.com")

# The portal's menus: the side menu and the phone's bottom bar show these items, in this order.
# `badge` names the context variable whose count the item shows (chat's context processor).
PORTAL_NAVIGATION = [
    {
        "url": "appointments:list",
        "label": "Appointments",
        "phone_label": "Sessions",
        "icon": "calendar",
    },
    {"url": "chat:list", "label": "Chat", "icon": "chat", "badge": "chat_unread"},
    {"url": "account:detail", "label": "Account", "icon": "user"},
]

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
