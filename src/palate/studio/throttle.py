"""Login throttling: after too many wrong passwords for one account, or from one address,
further attempts are refused for a while without checking the password at all.

The window slides: a failure counts for ``window_s`` seconds. A right password clears its
account's failures (not its address's, so one good account cannot launder a guessing run).
Counts live in the server process: behind several processes an attacker gets each process's
allowance, which is still a small, fixed number of guesses per window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from palate.errors import PalateError


class LoginThrottled(PalateError):
    """Too many wrong logins for an account or from an address (answered with 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong logins: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class LoginThrottle:
    per_account: int = field(default=5, metadata={"help": "wrong logins per account per window"})
    per_address: int = field(default=30, metadata={"help": "wrong logins per client address"})
    window_s: float = field(default=900.0, metadata={"help": "how long a failure counts"})
    clock: Callable[[], float] = field(default=time.monotonic, metadata={"help": "seconds"})
    _failures: dict[str, deque[float]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, account: str, address: str) -> int | None:
        """Seconds until a login for ``account`` from ``address`` may be tried, or None now."""
        now = self.clock()
        waits = []
        with self._lock:
            for key, limit in (
                (f"a:{account}", self.per_account),
                (f"i:{address}", self.per_address),
            ):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.window_s - now)
        return math.ceil(max(waits)) if waits else None

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (f"a:{account}", f"i:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(f"a:{account}", None)
