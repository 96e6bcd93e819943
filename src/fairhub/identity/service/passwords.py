"""Passwords: the policy every new password meets, and hashing with Argon2id (slow and
salted), its cost set per app."""
from __future__ import annotations

from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app

from fairhub.errors import ValidationError

MIN_LENGTH, MAX_LENGTH = 10, 256
EXTENSION = "fairhub.passwords"


def policy_problem(password: str) -> str | None:
    """What keeps ``password`` from being set, as a sentence; None when it may be.

    The one password policy: the API's routes and the command line both come here (through
    :func:`check_policy`), so a password one refuses the other refuses too.
    """
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"A password may have at most {MAX_LENGTH} characters."
    return None


def check_policy(password: str, field: str = "password") -> None:
    """Raise a 422 naming ``field`` unless ``password`` meets the policy."""
    problem = policy_problem(password)
    if problem is not None:
        raise ValidationError(problem, details={"json": {field: [problem]}})


class Passwords:
    """The app's hasher, and a hash to verify against when the email is unknown, so a miss
    costs as long as a wrong password."""

    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)

    @cached_property
    def dummy(self) -> str:
        """Made at the first verification, not with the app: a hash costs a tenth of a
        second or more, and most processes (commands, workers that serve only tokens) never
        verify a password."""
        return self.hasher.hash("not a real password")


def install(app: Flask) -> None:
    app.extensions[EXTENSION] = Passwords(int(app.config["AUTH_PASSWORD_TIME_COST"]),
                                          int(app.config["AUTH_PASSWORD_MEMORY_KIB"]))


def hash_password(password: str) -> str:
    return current_app.extensions[EXTENSION].hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; always spends one hash verification."""
    passwords = current_app.extensions[EXTENSION]
    dummy = passwords.dummy  # made first whatever the outcome: the first miss costs no more
    try:
        return passwords.hasher.verify(password_hash or dummy, password) \
            and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
