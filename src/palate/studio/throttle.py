"""Login throttling: after too many wrong passwords for one account, or from one address,
further attempts are refused for a while without checking the password at all.

The window slides: a failure counts for ``window_s`` seconds. A right password clears its
account's failures (not its address's, so one good account cannot launder a guessing run).
The failures live in the store (``palate.store.login_failures``), so every server process
on it enforces the same limits: several processes behind one address give an attacker no
more guesses than one. An attempt counts against its account from before its password is
checked, so a burst of simultaneous guesses at an account gets no more than the limit either.
Against its address it counts only once found wrong: raters behind one NAT who all log in at
nine o'clock must not lock each other out (so a burst spread over many accounts can pass the
address limit by the logins a process holds at once, ``HASH_WORKERS + HASH_QUEUE`` in
``palate.studio.accounts``, before the first is found wrong).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from palate.errors import PalateError
from palate.store.login_failures import LoginFailures, failure_key


class LoginThrottled(PalateError):
    """Too many wrong logins for an account or from an address (answered with 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong logins: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottleLimits:
    per_account: int = field(default=5, metadata={"help": "wrong logins per account per window"})
    per_address: int = field(default=30, metadata={"help": "wrong logins per client address"})
    window_s: float = field(default=900.0, metadata={"help": "how long a failure counts"})
    clock: Callable[[], float] = field(
        default=time.time, metadata={"help": "wall-clock seconds, the same in every process"}
    )


@dataclass(frozen=True)
class Attempt:
    account: str = field(metadata={"help": "the account's failure key"})
    address: str = field(metadata={"help": "the address's failure key"})
    row: int = field(metadata={"help": "the failure counted for this attempt"})


class LoginThrottle:
    """The limits, applied to the failures in one store."""

    def __init__(self, failures: LoginFailures, limits: ThrottleLimits | None = None) -> None:
        self.failures = failures
        self.limits = limits or ThrottleLimits()

    def attempt(self, account: str, address: str) -> Attempt:
        """Count a login at ``account`` as a failure, or raise LoginThrottled (counting
        nothing) if it or ``address`` has had its limit of failures in the window."""
        limits = self.limits
        keys = (failure_key("account", account), failure_key("address", address))
        reserved = self.failures.reserve(
            list(zip(keys, (limits.per_account, limits.per_address), strict=True)),
            keys[0],
            limits.window_s,
            limits.clock(),
        )
        if reserved.row is None:
            raise LoginThrottled(max(1, math.ceil(reserved.wait_s or 0)))
        return Attempt(keys[0], keys[1], reserved.row)

    def failed(self, attempt: Attempt) -> None:
        """The password was wrong: it counts against the address too."""
        self.failures.add(attempt.address, self.limits.clock())

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the account's failures go (its address's stay)."""
        self.failures.forget(attempt.row, attempt.account)

    def abandoned(self, attempt: Attempt) -> None:
        """The password was never checked (the server was busy): the attempt does not count."""
        self.failures.forget(attempt.row)
