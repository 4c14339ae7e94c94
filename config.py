"""Settings classes; every value can come from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    """Defaults shared by every environment."""

    # No default: production requires it, development makes a random one in SECRET_KEY_FILE on first run.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SECRET_KEY_FILE = str(BASE_DIR / "instance" / "secret_key")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'feedback.sqlite3'}"
    )
    # hide_parameters: an SQL error's text (logged with the traceback) would otherwise quote what people typed.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True, "insertmanyvalues_page_size": 100}
    # Connections each worker keeps open (PostgreSQL): at least gunicorn's --threads, or every request beyond the
    # pool opens and closes a connection of its own (a new server process each time).
    DB_POOL_SIZE = _env_int("DB_POOL_SIZE", 10)
    # Where citizens' phones reach the app (QR codes, posters). Unset: the address of the request in use.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    WTF_CSRF_TIME_LIMIT = _env_int("WTF_CSRF_TIME_LIMIT", 3600)
    MAX_CONTENT_LENGTH = 3 * 1024 * 1024  # a portrait upload is at most 2 MB; nothing public needs more
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    # A staff login lasts at most this long, and ends after SESSION_IDLE_MINUTES without a request.
    PERMANENT_SESSION_LIFETIME = _env_int("SESSION_LIFETIME_SECONDS", 8 * 3600)
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 60)
    # Rate limits on public endpoints: memory storage on one server, Redis when several run.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # No X-RateLimit-* headers: each would cost one more read of the counters (a Redis round trip) on every
    # limited request, and a citizen's browser does nothing with them; the 429 page says to wait.
    RATELIMIT_HEADERS_ENABLED = False
    SURVEY_SUBMIT_LIMIT = os.environ.get("SURVEY_SUBMIT_LIMIT", "20 per minute;120 per hour")
    # PAKN: the public form's limit per address, attachments, and how long senders' personal data is kept.
    PAKN_SUBMIT_LIMIT = os.environ.get("PAKN_SUBMIT_LIMIT", "5 per minute;30 per day")
    OPEN311_SUBMIT_LIMIT = os.environ.get("OPEN311_SUBMIT_LIMIT", "120 per minute;20000 per day")  # per API key
    PAKN_LOOKUP_LIMIT = os.environ.get("PAKN_LOOKUP_LIMIT", "60 per minute;600 per hour")  # private pages
    PAKN_MAX_FILES = _env_int("PAKN_MAX_FILES", 5)
    PAKN_MAX_FILE_BYTES = _env_int("PAKN_MAX_FILE_BYTES", 5 * 1024 * 1024)
    PAKN_RETENTION_DAYS = _env_int("PAKN_RETENTION_DAYS", 5 * 365)  # after closure, then erased
    LOGIN_LIMIT = os.environ.get("LOGIN_LIMIT", "10 per minute;60 per hour")
    # A kiosk asks for a fresh form token every two minutes (its heartbeat); a centre's kiosks share an address.
    KIOSK_TOKEN_LIMIT = os.environ.get("KIOSK_TOKEN_LIMIT", "30 per minute")
    # Ballot stuffing: one kiosk takes a new response only after this gap (5-10 s).
    KIOSK_MIN_GAP_SECONDS = _env_int("KIOSK_MIN_GAP_SECONDS", 8)
    KIOSK_IDLE_RESET_SECONDS = _env_int("KIOSK_IDLE_RESET_SECONDS", 90)
    # A registered kiosk's queued response may keep its own completion time for this long (network outages).
    KIOSK_OFFLINE_MAX_HOURS = _env_int("KIOSK_OFFLINE_MAX_HOURS", 48)
    # More than this many responses from one IP within the window are stored but flagged.
    BURST_MAX_PER_IP = _env_int("BURST_MAX_PER_IP", 5)
    BURST_WINDOW_SECONDS = _env_int("BURST_WINDOW_SECONDS", 120)
    # How long a worker trusts what it read about a counter (officers, procedures, current questionnaire).
    COUNTER_CACHE_SECONDS = _env_int("COUNTER_CACHE_SECONDS", 10)
    # How long a worker trusts its working-time calendar before checking the calendar tables (calendar_service.py).
    CALENDAR_CACHE_SECONDS = _env_int("CALENDAR_CACHE_SECONDS", 5)
    # The public calendar API (year listing, deadline), per address: other systems compute appointment dates.
    CALENDAR_API_LIMIT = os.environ.get("CALENDAR_API_LIMIT", "120 per minute;3000 per hour")
    # Failed logins: after LOGIN_FREE_FAILURES for one e-mail from one address (or LOGIN_ADDRESS_FREE_FAILURES
    # for any e-mails from one address) each next try waits LOGIN_DELAY_SECONDS, then twice as long each time
    # (1, 2, 4 … s), at most LOGIN_MAX_DELAY_SECONDS.
    # Nobody is locked out: another address is never delayed. Failures are forgotten after the memory.
    LOGIN_FREE_FAILURES = _env_int("LOGIN_FREE_FAILURES", 5)
    LOGIN_ADDRESS_FREE_FAILURES = _env_int("LOGIN_ADDRESS_FREE_FAILURES", 30)
    LOGIN_DELAY_SECONDS = _env_int("LOGIN_DELAY_SECONDS", 1)
    LOGIN_MAX_DELAY_SECONDS = _env_int("LOGIN_MAX_DELAY_SECONDS", 15 * 60)
    LOGIN_FAILURE_MEMORY_HOURS = _env_int("LOGIN_FAILURE_MEMORY_HOURS", 24)
    # E-mail (the outbox worker, feedback_app/outbox/): SMTP when SMTP_HOST is set, else the console sender
    # (development: messages go to the log). Production's `flask worker` refuses to start without SMTP_HOST.
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = _env_int("SMTP_PORT", 587)
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "1") == "1"
    SMTP_TIMEOUT_SECONDS = _env_int("SMTP_TIMEOUT_SECONDS", 30)
    MAIL_FROM = os.environ.get("MAIL_FROM", "no-reply@localhost")
    # The outbox: a failed send is retried after OUTBOX_BACKOFF_SECONDS, then twice as long each time (at most
    # OUTBOX_BACKOFF_MAX_SECONDS); after OUTBOX_MAX_ATTEMPTS it is 'dead'. A claimed message stays locked to its
    # worker for OUTBOX_LOCK_SECONDS (then another worker may take it: the first one died).
    OUTBOX_MAX_ATTEMPTS = _env_int("OUTBOX_MAX_ATTEMPTS", 8)
    OUTBOX_BACKOFF_SECONDS = _env_int("OUTBOX_BACKOFF_SECONDS", 60)
    OUTBOX_BACKOFF_MAX_SECONDS = _env_int("OUTBOX_BACKOFF_MAX_SECONDS", 6 * 3600)
    OUTBOX_LOCK_SECONDS = _env_int("OUTBOX_LOCK_SECONDS", 300)
    OUTBOX_BATCH_SIZE = _env_int("OUTBOX_BATCH_SIZE", 50)
    WORKER_POLL_SECONDS = _env_int("WORKER_POLL_SECONDS", 5)
    # `make run`: the worker as a thread of the development server; elsewhere `flask worker` is its own process.
    WORKER_IN_PROCESS = False

    # SMS (feedback_app/sms/, docs in README "SMS"). The gateway is Twilio when TWILIO_ACCOUNT_SID is set, the
    # generic HTTP gateway when SMS_HTTP_URL is set, otherwise the console (messages printed, nothing sent).
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
    TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")  # a relay in front of api.twilio.com; tests
    SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")  # the generic gateway's send address (JSON POST)
    SMS_HTTP_TOKEN = os.environ.get("SMS_HTTP_TOKEN", "")  # bearer token we send to it
    SMS_HTTP_SECRET = os.environ.get("SMS_HTTP_SECRET", "")  # HMAC-SHA256 key of its webhooks to us
    SMS_HTTP_TIMEOUT_SECONDS = _env_int("SMS_HTTP_TIMEOUT_SECONDS", 15)
    SMS_RECONCILE_DAYS = _env_int("SMS_RECONCILE_DAYS", 7)  # daily look-up of reports for messages this recent
    SMS_SENDER_NAME = os.environ.get("SMS_SENDER_NAME", "")  # registered brandname (≤ 11), agencies may override
    SMS_ASCII_ONLY = os.environ.get("SMS_ASCII_ONLY", "0") == "1"  # send without diacritics (160 per segment)
    SMS_PRICE_PER_SEGMENT = _env_int("SMS_PRICE_PER_SEGMENT", 850)  # VND, for the template editor's estimate
    # Invitations: sent at INVITATION_SEND_AT ("19:00", or "now") on the day the result is returned, never in
    # SMS_QUIET_HOURS ("21:00-07:00", or empty for none), at most one per phone per INVITATION_MIN_DAYS_PER_PHONE;
    # the link works for INVITATION_LINK_DAYS. Agencies may set their own values (/admin/sms).
    INVITATION_SEND_AT = os.environ.get("INVITATION_SEND_AT", "19:00")
    SMS_QUIET_HOURS = os.environ.get("SMS_QUIET_HOURS", "21:00-07:00")
    INVITATION_MIN_DAYS_PER_PHONE = _env_int("INVITATION_MIN_DAYS_PER_PHONE", 30)
    INVITATION_LINK_DAYS = _env_int("INVITATION_LINK_DAYS", 7)
    SURVEY_LINK_LIMIT = os.environ.get("SURVEY_LINK_LIMIT", "60 per minute;600 per hour")  # /s/<token> per address
    SMS_WEBHOOK_LIMIT = os.environ.get("SMS_WEBHOOK_LIMIT", "1200 per minute")
    # Where a complaint by SMS goes when the phone has no invitation and several Sở are in force (an OrgUnit code).
    SMS_DEFAULT_AGENCY = os.environ.get("SMS_DEFAULT_AGENCY", "")
    # What citizens sent by SMS is kept this long (a complaint's content lives on in the PAKN itself).
    SMS_INBOUND_KEPT_DAYS = _env_int("SMS_INBOUND_KEPT_DAYS", 90)
    DOSSIER_API_LIMIT = os.environ.get("DOSSIER_API_LIMIT", "120 per minute")
    DOSSIER_IMPORT_MAX_ROWS = _env_int("DOSSIER_IMPORT_MAX_ROWS", 50000)
    # Citizens' names, phones and e-mails on dossiers are erased this long after the result was returned.
    DOSSIER_RETENTION_DAYS = _env_int("DOSSIER_RETENTION_DAYS", 365)
    TRUST_PROXY = os.environ.get("TRUST_PROXY", "0") == "1"
    DEMO_DATA_ALLOWED = True
    # Demo responses (is_demo) count in figures only where the demo is the point: `make run`.
    COUNT_DEMO_RESPONSES = False
    PRODUCTION = False


class DevelopmentConfig(Config):
    """`make run`: SQLite in instance/, demo data allowed and shown in the figures."""

    COUNT_DEMO_RESPONSES = os.environ.get("COUNT_DEMO_RESPONSES", "1") == "1"
    WORKER_IN_PROCESS = os.environ.get("WORKER_IN_PROCESS", "1") == "1"


class TestingConfig(Config):
    """The test suite: database from TEST_DATABASE_URL or a temporary SQLite file."""

    TESTING = True
    SECRET_KEY = secrets.token_urlsafe(48)  # per process: no cookie signed elsewhere is accepted
    PUBLIC_BASE_URL = ""  # the test client's address, whatever the environment says
    SURVEY_SUBMIT_LIMIT = "1000 per minute"
    PAKN_SUBMIT_LIMIT = "1000 per minute"
    OPEN311_SUBMIT_LIMIT = "1000 per minute"
    LOGIN_LIMIT = "1000 per minute"
    KIOSK_MIN_GAP_SECONDS = 5
    COUNTER_CACHE_SECONDS = 0  # every test builds its own counters; tests of the cache turn it on
    CALENDAR_CACHE_SECONDS = 0  # tests roll back their calendar entries; tests of the cache turn it on
    CALENDAR_API_LIMIT = "1000 per minute"
    SMTP_HOST = ""  # the tests start their own SMTP server; none reaches a real one from the environment
    # The tests start their own Twilio stub; no message reaches a real gateway from the environment.
    TWILIO_ACCOUNT_SID = TWILIO_AUTH_TOKEN = TWILIO_MESSAGING_SERVICE_SID = TWILIO_FROM_NUMBER = ""
    TWILIO_API_BASE_URL = SMS_HTTP_URL = SMS_HTTP_TOKEN = ""
    SMS_HTTP_SECRET = str()  # noqa: UP018 - none (a literal would read as a secret to test_cli_config)
    SURVEY_LINK_LIMIT = "1000 per minute"
    SMS_WEBHOOK_LIMIT = "10000 per minute"
    DOSSIER_API_LIMIT = "1000 per minute"
    WORKER_IN_PROCESS = False


class ProductionConfig(Config):
    """Production: refuses default secrets and never loads demo data."""

    DEMO_DATA_ALLOWED = False
    PRODUCTION = True
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"

    @classmethod
    def validate(cls) -> dict[str, str]:
        """Refuse to start without a long secret or a database URL; the settings checked, read now."""
        secret = os.environ.get("SECRET_KEY", "")
        if len(secret) < 32:
            raise RuntimeError("SECRET_KEY must be set to a random value of at least 32 characters in production")
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url:
            raise RuntimeError("DATABASE_URL must be set in production")
        public_url = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise RuntimeError("PUBLIC_BASE_URL must be set in production to the absolute http(s) address citizens "
                               "use, e.g. https://danhgia.khanhhoa.gov.vn (it is printed in every QR code)")
        # The app runs with exactly the values checked here, even when the environment changed after import.
        return {"SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": database_url, "PUBLIC_BASE_URL": public_url,
                **cls._validate_sms()}

    @staticmethod
    def _validate_sms() -> dict[str, str]:
        """Refuse an SMS gateway half configured (messages would wait forever, or webhooks be refused): all of a
        gateway's settings or none, one gateway at a time, a sender name that fits a brandname."""
        env = {name: os.environ.get(name, "").strip() for name in (
            "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_FROM_NUMBER",
            "TWILIO_API_BASE_URL", "SMS_HTTP_URL", "SMS_HTTP_TOKEN", "SMS_HTTP_SECRET", "SMS_SENDER_NAME")}
        twilio = [name for name in env if name.startswith("TWILIO_") and env[name]]
        generic = [name for name in ("SMS_HTTP_URL", "SMS_HTTP_TOKEN", "SMS_HTTP_SECRET") if env[name]]
        if twilio and generic:
            raise RuntimeError(f"Configure one SMS gateway, not both: {', '.join(twilio + generic)} are set")
        if twilio:
            missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not env[name]]
            if not env["TWILIO_MESSAGING_SERVICE_SID"] and not env["TWILIO_FROM_NUMBER"]:
                missing.append("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
            if missing:
                raise RuntimeError(f"Twilio is half configured ({', '.join(twilio)} set): {', '.join(missing)} "
                                   "must be set too (README, SMS)")
        if generic:
            missing = [name for name in ("SMS_HTTP_URL", "SMS_HTTP_TOKEN", "SMS_HTTP_SECRET") if not env[name]]
            if missing:
                raise RuntimeError(f"The SMS gateway is half configured ({', '.join(generic)} set): "
                                   f"{', '.join(missing)} must be set too (README, SMS)")
        for name in ("SMS_HTTP_URL", "TWILIO_API_BASE_URL"):
            parts = urlsplit(env[name])
            if env[name] and (parts.scheme not in ("http", "https") or not parts.hostname):
                raise RuntimeError(f"{name} must be an absolute http(s) address")
            if env[name] and parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
                raise RuntimeError(f"{name} must use https (plain http only to a relay on this machine)")
        if len(env["SMS_SENDER_NAME"]) > 11:
            raise RuntimeError("SMS_SENDER_NAME is a registered brandname: at most 11 characters")
        return {name: value for name, value in env.items() if value}


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
