"""The refusals of the capacity actions (pages and the API map them to an error), and who acts."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from hybridcloud.core.refusals import Refused


class CapacityActionRefused(Refused):
    """The action cannot be done; `errors` say why (the API answers 400)."""


class OverrideReasonRequired(CapacityActionRefused):
    """The pre-checks warn about some moves and nobody wrote why they are acceptable; `warnings` lists them."""

    def __init__(self, warnings: list[str], *, action: str = "the evacuation can start") -> None:
        super().__init__(
            f"{len(warnings)} pre-check warning{'s' if len(warnings) != 1 else ''} need a written override reason "
            f"before {action}: " + " ".join(warnings),
            warnings=warnings,
        )


def acting_user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    """The user recorded as acting: nobody for an anonymous or missing one (a task)."""
    return user if user is not None and user.is_authenticated else None
