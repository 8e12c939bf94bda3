"""Settings, every value from the environment (documented in .env.example)."""

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")  # the real environment wins over the file
VAR_DIR = Path(os.environ.get("PEAKFLO_VAR_DIR", BASE_DIR / "var"))


def env(name, default=""):
    return os.environ.get(name, default)


def envbool(name, default="False"):
    value = env(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def envint(name, default):
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def envlist(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def development_secret_key():
    """One key per checkout, made on first run, so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = envbool("DEBUG", "False")
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = development_secret_key()

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "peakflo",
    "customers",
    "invoices",
    "workflows",
    "disputes",
    "reports",
    "portal",
    "accounting",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_celery_beat",
    "axes",
]

MIDDLEWARE = [
    "peakflo.request_id.RequestIdMiddleware",  # first, so every answer carries X-Request-ID
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it turns a lockout into the response
]

ROOT_URLCONF = "peakflo.urls"
WSGI_APPLICATION = "peakflo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["peakflo.templatetags.icons"],  # {% icon %} everywhere, no {% load %}
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "peakflo.context_processors.shell",
            ],
        },
    },
]

# No DATABASE_URL: the embedded default, a SQLite file under var/.
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "peakflo.sqlite3",
            # web, worker and beat share the file: wait for locks, write-ahead log for readers.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "peakflo.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3  # invitations and resets: three days

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one email address from one
# client address, that pair is refused (even with the right password) for AXES_COOLOFF_MINUTES; a
# successful login clears the count. Admins see and clear lockouts in the admin under "Axes".
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Wrong passwords while locked out do not push the end of the lockout further away.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"  # the login form's field and authenticate()'s keyword for the email
AXES_USERNAME_CALLABLE = "peakflo.lockout.username"  # emails are case-insensitive here
AXES_LOCKOUT_CALLABLE = "peakflo.lockout.locked_out"  # the login page, saying why and for how long
# The client address (peakflo.client_address, as for the portal's limits) is REMOTE_ADDR, unless
# TRUSTED_PROXY_COUNT says how many proxies of ours add X-Forwarded-For in front of the app. Left at 0
# behind a proxy, every client shares its address and the pair is in effect the email alone.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "peakflo.client_address.client_ip"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # moments are stored in UTC; days are read in the company's time zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if DEBUG:  # runserver serves static files from the apps; collectstatic is for production
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Email, through Django's own setting names. SMTP unless developing without a host.
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "False")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "peakflo <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env("EMAIL_BACKEND"):
    EMAIL_BACKEND = env("EMAIL_BACKEND")
elif DEBUG and not EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = EMAIL_HOST or "localhost"

# Celery. No CELERY_BROKER_URL: kombu's filesystem transport under var/, so no server is needed.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "celery" / "broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The beat heartbeat runs every minute; older than this and /healthz reports it stale.
HEARTBEAT_MAX_AGE_SECONDS = envint("HEARTBEAT_MAX_AGE_SECONDS", 180)

# Browser protections, in every environment.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts only from this site or carrying the page's nonce ({{ csp_nonce }}), no inline event handlers
# and no eval (htmx's hx-on is not used for that reason). Inline style attributes stay allowed: pages
# set colours and bar widths through them, and a style cannot run code.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Error pages and reports (DEBUG pages, admin emails) hide settings whose names look secret.
DEFAULT_EXCEPTION_REPORTER_FILTER = "peakflo.error_reports.SecretsFilter"

SILENCED_SYSTEM_CHECKS = []
# Production is served over https (SITE_URL says so), behind a proxy that terminates TLS and says so
# in X-Forwarded-Proto. A SITE_URL of plain http (a first look with docker compose on localhost) keeps
# cookies usable over http; `manage.py check --deploy` then lists what that leaves out.
if not DEBUG and SITE_URL.startswith("https://"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "True")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's own health check speaks plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "True")
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
    if not SECURE_HSTS_PRELOAD:
        # Preloading is hard to undo (browsers ship the list), so it is the operator's choice to opt in.
        SILENCED_SYSTEM_CHECKS.append("security.W021")
    if not SECURE_SSL_REDIRECT:
        # Turned off on purpose: the proxy in front redirects http to https itself.
        SILENCED_SYSTEM_CHECKS.append("security.W008")

# Logs go to stderr: JSON lines with request_id / task_id when DEBUG is off, readable text with DEBUG.
# Importing request_id also hands Celery's worker and beat logging to this config.
from peakflo.request_id import logging_config  # noqa: E402

LOGGING = logging_config(json_lines=not DEBUG, level=env("LOG_LEVEL", "INFO"))

# Reminder channels (workflows/channels) and dispatch. Every provider is optional: a channel whose
# credentials are empty fails its messages with "… is not configured: set …", never drops them.
# The base URLs are settings so tests (and proxies) can point them at another server.
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID")  # SMS, and WhatsApp when WHATSAPP_PROVIDER=twilio
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER")  # E.164, for example +6531234567
TWILIO_WHATSAPP_FROM = env("TWILIO_WHATSAPP_FROM")  # the WhatsApp sender, for example +14155238886
TWILIO_BASE_URL = env("TWILIO_BASE_URL", "https://api.twilio.com")
WHATSAPP_PROVIDER = env("WHATSAPP_PROVIDER", "twilio").lower()  # twilio or cloud
WHATSAPP_CLOUD_TOKEN = env("WHATSAPP_CLOUD_TOKEN")
WHATSAPP_CLOUD_PHONE_NUMBER_ID = env("WHATSAPP_CLOUD_PHONE_NUMBER_ID")
WHATSAPP_CLOUD_BASE_URL = env("WHATSAPP_CLOUD_BASE_URL", "https://graph.facebook.com/v21.0")
LINE_CHANNEL_ACCESS_TOKEN = env("LINE_CHANNEL_ACCESS_TOKEN")
LINE_BASE_URL = env("LINE_BASE_URL", "https://api.line.me")
WORKFLOW_WEBHOOK_URL = env("WORKFLOW_WEBHOOK_URL")  # webhook actions POST signed JSON here
WORKFLOW_WEBHOOK_SECRET = env("WORKFLOW_WEBHOOK_SECRET")
CHANNEL_HTTP_TIMEOUT_SECONDS = envint("CHANNEL_HTTP_TIMEOUT_SECONDS", 20)
# A send the provider refused for now (HTTP 5xx/429, SMTP 4xx, no connection) is tried this many times
# in all, waiting DISPATCH_RETRY_BACKOFF_SECONDS, then twice that, …; then the message is failed.
DISPATCH_MAX_ATTEMPTS = envint("DISPATCH_MAX_ATTEMPTS", 3)
DISPATCH_RETRY_BACKOFF_SECONDS = float(env("DISPATCH_RETRY_BACKOFF_SECONDS", "2"))
# A message still `sending` this many minutes after it was written becomes `unknown` (never re-sent);
# one still `queued` (never handed to a provider) is released for the next dispatch.
DISPATCH_STALE_SENDING_MINUTES = envint("DISPATCH_STALE_SENDING_MINUTES", 30)
# Provider calls dispatch makes at once (one SMTP connection each, reused for the whole dispatch).
DISPATCH_SEND_CONNECTIONS = envint("DISPATCH_SEND_CONNECTIONS", 4)

# Pay online in the payer portal through Stripe Checkout. With STRIPE_SECRET_KEY empty the portal shows
# the company's bank-transfer instructions instead. The webhook (/portal/stripe/webhook) needs the
# endpoint's signing secret; the base URL is a setting so tests can point it at a local server.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")

# Payer portal magic links: sign-in links (asked for on the portal) work once within this many minutes;
# links inside reminders open the customer's portal for this many days. Requests for sign-in links are
# limited per email address and per client address, each per hour.
PORTAL_SIGN_IN_LINK_MINUTES = envint("PORTAL_SIGN_IN_LINK_MINUTES", 60)
PORTAL_REMINDER_LINK_DAYS = envint("PORTAL_REMINDER_LINK_DAYS", 30)
PORTAL_LINK_REQUESTS_PER_ADDRESS = envint("PORTAL_LINK_REQUESTS_PER_ADDRESS", 5)
PORTAL_LINK_REQUESTS_PER_CLIENT = envint("PORTAL_LINK_REQUESTS_PER_CLIENT", 20)

# Accounting sync (Settings → Integrations). Client id and secret of the app registered with each
# provider; the base URLs are settings so tests point them at local emulators. Tokens are encrypted
# at rest with ACCOUNTING_TOKEN_KEY (a Fernet key: `python -c "from cryptography.fernet import
# Fernet; print(Fernet.generate_key().decode())"`); empty, a key derived from SECRET_KEY.
ACCOUNTING_TOKEN_KEY = env("ACCOUNTING_TOKEN_KEY")
XERO_CLIENT_ID = env("XERO_CLIENT_ID")
XERO_CLIENT_SECRET = env("XERO_CLIENT_SECRET")
XERO_WEBHOOK_KEY = env("XERO_WEBHOOK_KEY")  # the webhook's signing key, from Xero's developer portal
XERO_LOGIN_URL = env("XERO_LOGIN_URL", "https://login.xero.com").rstrip("/")  # /identity/connect/authorize
XERO_IDENTITY_URL = env("XERO_IDENTITY_URL", "https://identity.xero.com").rstrip("/")  # /connect/token
XERO_API_URL = env("XERO_API_URL", "https://api.xero.com").rstrip("/")  # /api.xro/2.0, /connections
XERO_SCOPES = env("XERO_SCOPES")  # empty: offline_access and the accounting scopes the sync needs
QUICKBOOKS_CLIENT_ID = env("QUICKBOOKS_CLIENT_ID")
QUICKBOOKS_CLIENT_SECRET = env("QUICKBOOKS_CLIENT_SECRET")
QUICKBOOKS_WEBHOOK_TOKEN = env("QUICKBOOKS_WEBHOOK_TOKEN")  # the webhooks verifier token
QUICKBOOKS_AUTH_URL = env("QUICKBOOKS_AUTH_URL", "https://appcenter.intuit.com/connect/oauth2").rstrip("/")
QUICKBOOKS_TOKEN_URL = env(
    "QUICKBOOKS_TOKEN_URL", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
).rstrip("/")
QUICKBOOKS_API_URL = env("QUICKBOOKS_API_URL", "https://quickbooks.api.intuit.com").rstrip("/")
QUICKBOOKS_REVOKE_URL = env(
    "QUICKBOOKS_REVOKE_URL", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
).rstrip("/")
QUICKBOOKS_MINOR_VERSION = envint("QUICKBOOKS_MINOR_VERSION", 75)
ACCOUNTING_HTTP_TIMEOUT_SECONDS = envint("ACCOUNTING_HTTP_TIMEOUT_SECONDS", 30)
# Before reminders go out, books last synced longer ago than this are read again (invoices, credit
# notes, payments); if that fails, the reminders of synced invoices wait for the next dispatch.
ACCOUNTING_FRESH_MINUTES = envint("ACCOUNTING_FRESH_MINUTES", 5)

# Uploads (attachments, imports, the logo) larger than this are refused, naming the file.
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
