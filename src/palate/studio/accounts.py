"""Accounts: argon2id password hashes (pwdlib) and checking a login.

Unknown names are checked against a dummy hash too, so a login takes as long whether or not
the name exists and response times do not reveal who has an account.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pwdlib import PasswordHash

from palate.errors import InputError
from palate.store.studio import StudioStore, UserRow

Role = Literal["admin", "rater"]
ROLES: tuple[Role, ...] = ("admin", "rater")
MIN_PASSWORD = 8


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    return _hasher().hash("not a password of anyone")


def add_user(studio: StudioStore, name: str, role: str, password: str) -> UserRow:
    """Create an account; InputError for a bad name, role or short password."""
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise InputError("a user name is 1 to 100 characters without spaces", field="name")
    if role not in ROLES:
        raise InputError(f"role must be admin or rater, not {role!r}", field="role")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"passwords need at least {MIN_PASSWORD} characters", field="password")
    return studio.add_user(name, role, _hasher().hash(password))


def authenticate(studio: StudioStore, name: str, password: str) -> UserRow | None:
    """The user if the password is right, else None (in about the same time either way)."""
    user = studio.user_by_name(name)
    if user is None:
        _hasher().verify(password, _dummy_hash())
        return None
    valid, new_hash = _hasher().verify_and_update(password, user.password_hash)
    if not valid:
        return None
    if new_hash is not None:  # parameters were raised since it was hashed
        studio.set_password(user.id, new_hash)
    return user
