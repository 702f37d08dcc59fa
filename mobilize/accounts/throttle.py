"""Log-in throttling per account, on top of the per-IP limits on the log-in page.

A few failures are free; after SLOW_AFTER each attempt must wait, twice as long each time; the
LOCK_AFTER-th failure locks the account for LOCK_SECONDS. Counts are kept by the email typed, whether
or not it has an account, so the answers never tell which emails do.

They live in the rate limiter's store rather than a table: Redis, shared by every process, or the
limiter's in-memory fallback while Redis is down, so logging in never needs Redis (the count is then
per process). They are worth minutes, and a failed attempt costs no database write.
"""

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from limits.storage import MemoryStorage, Storage

from mobilize.extensions import limiter

log = logging.getLogger(__name__)

SLOW_AFTER = 5
LOCK_AFTER = 10
WINDOW_SECONDS = 15 * 60  # failures count this long after the first
LOCK_SECONDS = 15 * 60
# Where counts go if the limiter's store fails before the limiter has noticed it is down.
_this_process = MemoryStorage()
T = TypeVar("T")


def _in_store(operation: Callable[[Storage], T]) -> T:
    try:
        return operation(limiter.limiter.storage)
    except Exception:  # log-in must not fail with the store
        log.warning("log-in throttle store unreachable: counting in this process", exc_info=True)
        return operation(_this_process)


def _keys(email: str) -> tuple[str, str]:
    digest = hashlib.sha256(email.encode()).hexdigest()
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    return f"{prefix}/login-failures/{digest}", f"{prefix}/login-wait/{digest}"


def _wait(store: Storage, key: str, seconds: int) -> None:
    store.clear(key)
    store.incr(key, seconds)


def wait_seconds(email: str) -> int:
    """Seconds before the next attempt with this (normalized) email may be checked; 0 when it may now."""
    _, wait_key = _keys(email)

    def read(store: Storage) -> int:
        if not store.get(wait_key):
            return 0
        return max(1, math.ceil(store.get_expiry(wait_key) - time.time()))

    return _in_store(read)


def record_failure(email: str) -> bool:
    """Count a failed attempt and make the next one wait; True when this failure locks the account."""
    failures_key, wait_key = _keys(email)

    def record(store: Storage) -> bool:
        failures = store.incr(failures_key, WINDOW_SECONDS)
        if failures >= LOCK_AFTER:
            store.clear(failures_key)
            _wait(store, wait_key, LOCK_SECONDS)
            return True
        if failures >= SLOW_AFTER:
            _wait(store, wait_key, 2 ** (failures - SLOW_AFTER + 1))
        return False

    return _in_store(record)


def clear(email: str) -> None:
    """Forget the failures: after a successful log-in, or a new password."""

    def forget(store: Storage) -> None:
        for key in _keys(email):
            store.clear(key)

    _in_store(forget)


def lock_period() -> int:
    """The number of the LOCK_SECONDS period we are in: a lock's mail is sent once per account and period."""
    return int(time.time()) // LOCK_SECONDS
