"""Accounts: user-name and password rules, argon2id hashes (pwdlib), checking a login.

Names are compared by their NFKC, case-folded key, so "Ann", "ANN" and full-width "Ａｎｎ" are one
account, and names may not contain invisible or control characters (which would let two names
look the same). Passwords need ``MIN_PASSWORD`` characters and must not be easy to guess
(zxcvbn: common passwords, keyboard runs, repeats, the user's own name).

Hashing is deliberately slow (~0.1-0.2 s of CPU), so logins run on a small pool of their own
(``HASH_WORKERS`` threads, ``HASH_QUEUE`` waiting at most): a flood of logins queues there or
is told to retry, while the threads that serve pages and submissions stay free. Unknown names
are checked against a dummy hash too, so response times do not reveal who has an account.
"""

from __future__ import annotations

import asyncio
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Literal

import zxcvbn
from pwdlib import PasswordHash

from palate.errors import InputError
from palate.store.studio import StudioStore, UserRow

Role = Literal["admin", "rater", "adjudicator"]
ROLES: tuple[Role, ...] = ("admin", "rater", "adjudicator")
MIN_PASSWORD = 10
MAX_PASSWORD = 1000
MAX_NAME = 100
MIN_GUESS_SCORE = 3  # zxcvbn's 0-4 scale: 3 = "safely unguessable" (~10^8 guesses)
HASH_WORKERS = 2
HASH_QUEUE = 32


class LoginBusy(Exception):
    """More logins are waiting for the hashing pool than it queues: try again shortly."""


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    return _hasher().hash("not a password of anyone")


def _invisible(char: str) -> bool:
    """Control, format (zero-width, bidi), unassigned, private-use or separator characters."""
    return unicodedata.category(char)[0] in "CZ"


def check_name(name: str) -> str:
    """The name in NFKC form; InputError if it is empty, too long or has invisible characters."""
    name = unicodedata.normalize("NFKC", name)
    if not name or len(name) > MAX_NAME:
        raise InputError(f"a user name is 1 to {MAX_NAME} characters", field="name")
    if any(_invisible(c) for c in name):
        raise InputError(
            "a user name may not contain spaces, control or invisible characters", field="name"
        )
    return name


def check_password(password: str, name: str = "") -> None:
    """InputError unless the password is long enough and hard to guess."""
    if len(password) < MIN_PASSWORD or len(password) > MAX_PASSWORD:
        raise InputError(
            f"passwords need {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )
    # zxcvbn rates at most 72 characters; a longer one is judged by its start.
    verdict = zxcvbn.zxcvbn(password[:72], user_inputs=[name] if name else [])
    if verdict["score"] < MIN_GUESS_SCORE:
        why = verdict["feedback"]["warning"] or "it is too easy to guess"
        raise InputError(
            f"choose a harder password: {why.rstrip('.')} (a few uncommon words work well)",
            field="password",
        )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def add_user(studio: StudioStore, name: str, role: str, password: str) -> UserRow:
    """Create an account; InputError for a bad name, role or password."""
    name = check_name(name)
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role")
    check_password(password, name)
    return studio.add_user(name, role, hash_password(password))


def authenticate(studio: StudioStore, name: str, password: str) -> UserRow | None:
    """The user if the password is right and the account enabled, else None (in about the
    same time either way)."""
    user = studio.user_by_name(name) if len(password) <= MAX_PASSWORD else None
    if user is None:
        _hasher().verify(password[:MAX_PASSWORD], _dummy_hash())
        return None
    valid, new_hash = _hasher().verify_and_update(password, user.password_hash)
    if not valid or user.disabled:
        return None
    if new_hash is not None:  # parameters were raised since it was hashed
        studio.set_password(user.id, new_hash, end_sessions=False)
    return user


class HashingPool:
    """The threads that check passwords, apart from those serving pages (see module doc)."""

    def __init__(self, workers: int = HASH_WORKERS, queue: int = HASH_QUEUE) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="palate-login")
        self._slots = threading.BoundedSemaphore(workers + queue)

    async def authenticate(self, studio: StudioStore, name: str, password: str) -> UserRow | None:
        """``authenticate`` on the pool; LoginBusy when too many are already waiting."""
        if not self._slots.acquire(blocking=False):
            raise LoginBusy
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, authenticate, studio, name, password)
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, hash_password, password)
