"""Generated feeds in Redis, and the version stamps that invalidate them.

A feed depends on scopes ("all", "org:<slug>", "person:<id>", and "epoch"
which every feed depends on).  Changing an event replaces its scopes' versions after
the commit (see ``invalidation``), so the next poll finds a stale stamp and
builds the feed again.  One Redis hash per feed holds the stamp it was built
for, its body, ETag and Last-Modified; a poll with a matching If-None-Match
reads the small fields only, in one round trip, and within TRUST_SECONDS of
the last one in the same process not even that.  Without REDIS_URL nothing
is cached.
"""

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from flask import current_app

log = logging.getLogger(__name__)

VERSION_KEY = "feeds:v:{}"
FEED_KEY = "feeds:c:{}"
LOCK_KEY = "feeds:lock:{}"
# A feed nobody polled for this long leaves Redis (one that is polled is rebuilt, and so kept, more often).
UNUSED_TTL = timedelta(days=2)
# While one process builds a feed, others serve the previous body this long at most.
BUILD_LOCK_SECONDS = 120
# Recent bodies kept in each process by ETag, so a full response need not copy megabytes out of Redis.
MEMO_BYTES = 64 * 1024 * 1024
# A process trusts a feed it found fresh this long without asking Redis again: far less than the
# 5 minutes Cache-Control lets any cache keep a copy, and it leaves a burst of polls no I/O at all.
# A bump in this process forgets them at once; other processes see it within this time.
TRUST_SECONDS = 1.0
_trusted: dict[str, tuple[float, "CachedFeed"]] = {}


class _BodyMemo:
    """Bodies by ETag (content-addressed, so never stale), least recently used out first."""

    def __init__(self, capacity: int):
        self.capacity, self.size = capacity, 0
        self.bodies: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self.lock:
            body = self.bodies.get(etag)
            if body is not None:
                self.bodies.move_to_end(etag)
            return body

    def put(self, etag: str, body: bytes) -> None:
        if len(body) > self.capacity // 4:
            return
        with self.lock:
            if etag in self.bodies:
                return
            self.bodies[etag] = body
            self.size += len(body)
            while self.size > self.capacity:
                self.size -= len(self.bodies.popitem(last=False)[1])


_memo = _BodyMemo(MEMO_BYTES)


@dataclass(frozen=True)
class CachedFeed:
    """A feed's validators, read without its body; ``load()`` fetches the bytes."""

    etag: str
    last_modified: datetime
    load: Callable[[], tuple[str, datetime, bytes]]  # (etag, last_modified, body): the validators of the bytes


def client() -> redis.Redis | None:
    """The feeds' Redis connection pool, one per process (None without REDIS_URL)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    pools = current_app.extensions.setdefault("feeds_redis", {})
    if url not in pools:
        pools[url] = redis.Redis.from_url(url, socket_timeout=5)
    return pools[url]


def _version_keys(scopes: tuple[str, ...]) -> list[str]:
    return [VERSION_KEY.format(scope) for scope in ("epoch", *scopes)]


def _stamp(conn: redis.Redis, keys: list[str], values: list[bytes | None]) -> str:
    """The versions as one string; a version missing from Redis (never set, or
    evicted) starts at the current time, so a stamp never repeats an old one."""
    if None in values:
        pipe = conn.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, time.time_ns(), nx=True)
        values = pipe.mget(keys).execute()[-1]
    return ".".join(v.decode() for v in values)


def bump(scopes: set[str]) -> None:
    """Give each scope a new version: every feed that depends on one is rebuilt when next polled."""
    _trusted.clear()
    conn = client()
    if conn is None or not scopes:
        return
    pipe = conn.pipeline(transaction=False)
    for scope in scopes:
        key = VERSION_KEY.format(scope)
        pipe.set(key, time.time_ns(), nx=True)
        pipe.incr(key)
    pipe.execute()


def _http_time(value: bytes) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def etag_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def get_or_build(identity: str, scopes: tuple[str, ...], build: Callable[[], bytes],
                 max_age: timedelta) -> CachedFeed:
    """The feed for ``identity`` as cached for the current stamp, building it when needed.

    ``build`` is called after the stamp is read, so a change committed in
    between is either in the body or in a newer stamp.  Last-Modified moves
    only when the body's ETag changes.  Without Redis (or with Redis down)
    every call builds: slower, never wrong.
    """
    trusted = _trusted.get(identity)
    if trusted is not None and time.monotonic() - trusted[0] < TRUST_SECONDS:
        return trusted[1]
    conn = client()
    if conn is None:
        return _uncached(build)
    key, lock = FEED_KEY.format(identity), LOCK_KEY.format(identity)
    keys = _version_keys(scopes)
    try:
        pipe = conn.pipeline(transaction=False)
        versions, (built_for, etag, modified, built_at) = pipe.mget(keys).hmget(
            key, "stamp", "etag", "modified", "built").execute()
        current = _stamp(conn, keys, versions)
        now = int(time.time())
        fresh = (built_for is not None and built_for.decode() == current
                 and now - int(built_at) < max_age.total_seconds())
        locked = not fresh and conn.set(lock, 1, nx=True, ex=BUILD_LOCK_SECONDS)
        # While another process builds a newer body, the previous one is served.
        if fresh or (not locked and etag is not None):
            feed = CachedFeed(etag.decode(), _http_time(modified),
                              lambda: _cached_body(conn, key, etag, modified, build))
            if fresh:
                _trust(identity, feed)
            return feed
    except redis.RedisError:
        log.warning("feed cache unavailable; building %s without it", identity, exc_info=True)
        return _uncached(build)
    try:
        body = build()
    finally:
        if locked:
            _forget_lock(conn, lock)
    new_etag = etag_of(body)
    if etag is None or etag.decode() != new_etag:
        modified = str(now).encode()
    try:
        conn.pipeline().hset(key, mapping={"stamp": current, "etag": new_etag, "modified": modified, "built": now,
                                           "body": body}).expire(key, UNUSED_TTL).execute()
    except redis.RedisError:
        log.warning("could not cache feed %s", identity, exc_info=True)
    _memo.put(new_etag, body)
    feed = CachedFeed(new_etag, _http_time(modified), lambda: (new_etag, _http_time(modified), body))
    _trust(identity, feed)
    return feed


def _trust(identity: str, feed: CachedFeed) -> None:
    if len(_trusted) > 10_000:  # filtered feeds are many; trust is short anyway
        _trusted.clear()
    _trusted[identity] = (time.monotonic(), feed)


def _uncached(build: Callable[[], bytes]) -> CachedFeed:
    body = build()
    etag, modified = etag_of(body), datetime.now(UTC).replace(microsecond=0)
    return CachedFeed(etag, modified, lambda: (etag, modified, body))


def _forget_lock(conn: redis.Redis, lock: str) -> None:
    try:
        conn.delete(lock)
    except redis.RedisError:
        log.warning("could not release %s; it expires by itself", lock, exc_info=True)


def _cached_body(conn: redis.Redis, key: str, etag: bytes, modified: bytes,
                 build: Callable[[], bytes]) -> tuple[str, datetime, bytes]:
    body = _memo.get(etag.decode())
    if body is not None:
        return etag.decode(), _http_time(modified), body
    try:
        etag, modified, body = conn.hmget(key, "etag", "modified", "body")
    except redis.RedisError:
        log.warning("feed cache unavailable; building %s without it", key, exc_info=True)
        body = None
    if body is None:  # flushed or unreachable since its validators were read
        body = build()
        return etag_of(body), datetime.now(UTC).replace(microsecond=0), body
    _memo.put(etag.decode(), body)
    return etag.decode(), _http_time(modified), body
