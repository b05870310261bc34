"""The one refusal of the container services: what every page, API and the Docker Engine API map to an error."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from hybridcloud.core.refusals import Refused


class ContainerRefused(Refused, ValidationError):
    """A request the platform refuses, with a code saying why: bad_name, name_in_use, no_such_image, port_in_use,
    bad_value, no_capacity, no_address, conflict, not_found, bad_document. A `Refused` (the REST API answers 400
    {"errors": [message], "code": code}) and still a ValidationError (`messages`, `message`), which the pages,
    the commands and the Docker Engine API (its own error shape, by code) read."""

    def __init__(self, message: str, *, code: str) -> None:
        ValidationError.__init__(self, message, code=code)
        self.errors, self.warnings, self.code = [message], [], code

    def body(self) -> dict:
        return {**super().body(), "code": self.code}


def validation_messages(exc: ValidationError) -> str:
    """A model's ValidationError as one sentence list, for a refusal's message."""
    return " ".join(exc.messages)
