"""Configuration from the environment (12-factor).

The defaults give the embedded setup: SQLite in ``instance/``, an embedded
Celery broker over SQLite, mail written to files.  Setting ``DATABASE_URL``
and ``REDIS_URL`` switches to the production shape whatever the class.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("MOBILIZE_INSTANCE_DIR", BASE_DIR / "instance"))
DEV_SECRET_KEY = "dev-only-insecure-secret-key"


def database_url(url: str | None) -> str:
    """Accept DATABASE_URL in its usual forms and pick our drivers (psycopg 3)."""
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'mobilize.db'}"
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def celery_settings(redis_url: str | None) -> dict:
    """Redis when REDIS_URL is set, else an embedded broker in a SQLite file."""
    broker = redis_url or f"sqla+sqlite:///{INSTANCE_DIR / 'celery-broker.db'}"
    return {
        "broker_url": broker,
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 4,
        "broker_connection_retry_on_startup": True,
        # A broker that is down must not stall a supporter's request: fail fast and
        # let the sweepers queue the work from the database rows later.
        "broker_transport_options": (
            {"visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 5} if redis_url else {}
        ),
        "task_publish_retry_policy": {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.1},
        "beat_schedule_filename": str(INSTANCE_DIR / "celerybeat-schedule"),
        "timezone": "UTC",
    }


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    DATABASE_PING_AFTER_IDLE = float(os.environ.get("DATABASE_PING_AFTER_IDLE", "10"))  # seconds; see core/pool.py
    REDIS_URL = os.environ.get("REDIS_URL")
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    SITE_NAME = os.environ.get("SITE_NAME", "Mobilize")
    # Where this deployment's source code is published (the footer links to it); none by default.
    SOURCE_URL = os.environ.get("SOURCE_URL", "")

    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Mobilize <noreply@localhost>")
    MAIL_BACKEND = "smtp" if MAIL_SERVER else "file"
    MAIL_FILE_PATH = str(INSTANCE_DIR / "outbox")
    MAIL_TIMEOUT = 10

    CELERY = celery_settings(REDIS_URL)
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    # Redis down must not turn supporters away: each process counts in memory until Redis answers again.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # X-RateLimit-* headers cost a Redis round trip on every limited request; 429s still say Retry-After.
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_KEY_PREFIX = "mobilize-rl"

    # Reverse proxies in front of the app (nginx, a load balancer): each appends the address it was reached from
    # to X-Forwarded-For. 0 trusts no such header: a client could forge it to dodge the per-address limits.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    MAX_CONTENT_LENGTH = 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = "https" if PUBLIC_URL.startswith("https") else "http"
    SHOW_DEV_OUTBOX = False
    # Seconds after which mail still queued is handed to the worker again.
    MAIL_REQUEUE_AFTER = float(os.environ.get("MAIL_REQUEUE_AFTER", "60"))
    PASSWORD_RESET_MAX_AGE = 3600
    # Petition signing: per IP per petition, and for the sign endpoint as a whole (Flask-Limiter syntax).
    PETITION_SIGN_RATE_LIMIT = os.environ.get("PETITION_SIGN_RATE_LIMIT", "10/minute;40/hour")
    PETITION_SIGN_GLOBAL_RATE_LIMIT = os.environ.get("PETITION_SIGN_GLOBAL_RATE_LIMIT", "300/second")
    PETITION_MIN_FILL_SECONDS = float(os.environ.get("PETITION_MIN_FILL_SECONDS", "3"))
    # Unconfirmed signatures (and their links) expire this long after the last confirmation mail.
    PETITION_CONFIRM_MAX_AGE = 7 * 24 * 3600
    PETITION_CONFIRM_RESEND_AFTER = 600
    # Seconds each web process answers a petition's count JSON from memory (the count moves every few seconds).
    PETITION_COUNT_MEMO_SECONDS = float(os.environ.get("PETITION_COUNT_MEMO_SECONDS", "1"))
    # How long a process reuses a petition's signing facts (status, closing date) on the sign path.
    PETITION_FACTS_MEMO_SECONDS = float(os.environ.get("PETITION_FACTS_MEMO_SECONDS", "1"))
    # RSVP form posts per IP (Flask-Limiter syntax); load tests raise it.
    RSVP_RATE_LIMIT = os.environ.get("RSVP_RATE_LIMIT", "20/minute;100/hour")
    # Announcements go out in batches of this many recipients, at most this many a minute; a send
    # whose next batch is this many seconds overdue is resumed by the sweeper.
    ANNOUNCEMENT_BATCH_SIZE = int(os.environ.get("ANNOUNCEMENT_BATCH_SIZE", "500"))
    ANNOUNCEMENT_RATE_PER_MINUTE = int(os.environ.get("ANNOUNCEMENT_RATE_PER_MINUTE", "6000"))
    ANNOUNCEMENT_STALE_AFTER = int(os.environ.get("ANNOUNCEMENT_STALE_AFTER", "120"))
    # Edits to an event within this many minutes make one change notice; the reminder sweep's interval.
    NOTICE_COALESCE_MINUTES = int(os.environ.get("NOTICE_COALESCE_MINUTES", "10"))
    REMINDER_SWEEP_SECONDS = 60
    # Signature delivery: signatures per batch; attempts before a batch is marked failed, waiting
    # BACKOFF * 2**n seconds (at most BACKOFF_MAX) between them; a batch 'sending' or due this long
    # ago is re-queued by the sweeper; the webhook's timeout. Webhooks to loopback, private or other non-public
    # addresses, and over http, only where DELIVERY_ALLOW_LOCAL_WEBHOOKS=1 is named (the tests' own receiver).
    DELIVERY_BATCH_SIZE = int(os.environ.get("DELIVERY_BATCH_SIZE", "1000"))
    DELIVERY_MAX_ATTEMPTS = int(os.environ.get("DELIVERY_MAX_ATTEMPTS", "8"))
    DELIVERY_RETRY_BACKOFF = float(os.environ.get("DELIVERY_RETRY_BACKOFF", "30"))
    DELIVERY_RETRY_BACKOFF_MAX = float(os.environ.get("DELIVERY_RETRY_BACKOFF_MAX", "3600"))
    DELIVERY_STALE_AFTER = float(os.environ.get("DELIVERY_STALE_AFTER", "120"))
    DELIVERY_WEBHOOK_TIMEOUT = float(os.environ.get("DELIVERY_WEBHOOK_TIMEOUT", "10"))
    DELIVERY_ALLOW_LOCAL_WEBHOOKS = os.environ.get("DELIVERY_ALLOW_LOCAL_WEBHOOKS", "").lower() in ("1", "true", "yes")

    @classmethod
    def validate(cls) -> None:
        """Raise when the configuration cannot run safely."""


class DevelopmentConfig(Config):
    # Mail written to files can be read at /dev/outbox by site administrators, in the embedded setup only:
    # with DATABASE_URL set, this is a real deployment, whatever MOBILIZE_ENV says.
    SHOW_DEV_OUTBOX = not Config.MAIL_SERVER and not os.environ.get("DATABASE_URL")


class TestingConfig(Config):
    TESTING = True
    PETITION_COUNT_MEMO_SECONDS = 0  # tests read counts right after a fold; the memo's own test turns it on
    PETITION_FACTS_MEMO_SECONDS = 0  # tests close and sign at once; the memo's own test turns it on
    RATELIMIT_ENABLED = True


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def validate(cls) -> None:
        missing = [
            name
            for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")
            if not os.environ.get(name)
        ]
        if missing:
            raise RuntimeError(f"production needs {', '.join(missing)} in the environment")
        if os.environ["SECRET_KEY"] == DEV_SECRET_KEY or len(os.environ["SECRET_KEY"]) < 32:
            raise RuntimeError("SECRET_KEY must be a random value of at least 32 characters")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The class named by MOBILIZE_ENV (development by default)."""
    name = os.environ.get("MOBILIZE_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"MOBILIZE_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
