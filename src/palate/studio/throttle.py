"""Login throttling: after too many wrong passwords for one account, or from one address,
further attempts are refused for a while without checking the password at all.

The window slides: a failure counts for ``window_s`` seconds. A right password clears its
account's failures (not its address's, so one good account cannot launder a guessing run).
Failures are rows of the store, so several server processes count them together: going
through another process does not buy an attacker more guesses.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from palate.errors import PalateError
from palate.store.studio import StudioStore


class LoginThrottled(PalateError):
    """Too many wrong logins for an account or from an address (answered with 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong logins: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginThrottle:
    per_account: int = field(default=5, metadata={"help": "wrong logins per account per window"})
    per_address: int = field(default=30, metadata={"help": "wrong logins per client address"})
    window_s: float = field(default=900.0, metadata={"help": "how long a failure counts"})
    clock: Callable[[], float] = field(
        default=time.time, metadata={"help": "seconds, the same in every process"}
    )
    studio: StudioStore | None = field(default=None, metadata={"help": "where failures live"})

    def bound(self, studio: StudioStore) -> LoginThrottle:
        """This throttle counting in ``studio``'s store."""
        return dataclasses.replace(self, studio=studio)

    def _store(self) -> StudioStore:
        if self.studio is None:
            raise PalateError("the login throttle has no store: call bound(studio) first")
        return self.studio

    def retry_after(self, account: str, address: str) -> int | None:
        """Seconds until a login for ``account`` from ``address`` may be tried, or None now."""
        now = self.clock()
        waits = []
        for key, limit in ((f"a:{account}", self.per_account), (f"i:{address}", self.per_address)):
            times = self._store().recent_failures(key, now - self.window_s, limit)
            if len(times) >= limit:
                waits.append(times[-1] + self.window_s - now)
        return math.ceil(max(waits)) if waits else None

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        self._store().add_failures([f"a:{account}", f"i:{address}"], now, now - self.window_s)

    def succeeded(self, account: str) -> None:
        self._store().clear_failures(f"a:{account}")
