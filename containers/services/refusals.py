"""The one refusal of the container services: what every page, API and the Docker Engine API map to an error."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class ContainerRefused(ValidationError):
    """A request the platform refuses, with a code saying why: bad_name, name_in_use, no_such_image, port_in_use,
    bad_value, no_capacity, no_address, conflict, not_found, bad_document."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)
        self.code = code


def validation_messages(exc: ValidationError) -> str:
    """A model's ValidationError as one sentence list, for a refusal's message."""
    return " ".join(exc.messages)
