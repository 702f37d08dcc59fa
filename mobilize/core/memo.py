"""Answers a web process keeps for a second or so, where a surge asks the same question thousands of times."""

import time
from collections.abc import Callable, Hashable

from flask import current_app

BOUND = 10_000


class SecondsMemo:
    """Values by key, each reused for as many seconds as the config setting ``setting`` says (0: never).

    Per process and unshared, so the setting is also how stale an answer may be.
    The size is bounded, not evicted: entries live a second, so clearing all is enough.
    """

    def __init__(self, setting: str):
        self.setting = setting
        self._entries: dict[Hashable, tuple[float, object]] = {}

    def get(self, key: Hashable, load: Callable[[], object]):
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < current_app.config[self.setting]:
            return entry[1]
        value = load()
        if len(self._entries) > BOUND:
            self._entries.clear()
        self._entries[key] = (now, value)
        return value
