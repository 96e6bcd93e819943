"""Permissions: what plugins declare and roles grant."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Permission:
    """A named right such as ``datasets/create``, with the managed roles that hold it by default."""

    name: str
    description: str
    default_roles: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ValueError(f"Permission name {self.name!r} is not of the form 'category/action'.")
        object.__setattr__(self, "default_roles", tuple(self.default_roles))
