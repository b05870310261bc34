"""The one domain refusal: a service that refuses to act raises `Refused` (or a subclass), nothing changed; the
API's exception handler (hybridcloud/core/api.py) answers it once for every view: its `status_code` (400 by
default; 409 when something else in progress is in the way) with ``{"errors": [...]}``, plus ``"warnings"`` when
an override would have to accept some."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class Refused(Exception):
    """Refused, nothing done: `errors` say why, `warnings` what an operator's written reason would accept."""

    status_code = 400

    def __init__(
        self, errors: str | Iterable[str], *, warnings: Iterable[str] = (), status_code: int | None = None
    ) -> None:
        self.errors = [errors] if isinstance(errors, str) else [str(e) for e in errors]
        self.warnings = list(warnings)
        if status_code is not None:
            self.status_code = status_code
        super().__init__(" ".join(self.errors))

    @classmethod
    def invalid(cls, field_errors: Mapping[str, Iterable]) -> Refused:
        """A request body that failed validation: one sentence per field, "field: what is wrong"."""
        return cls([f"{name}: {' '.join(map(str, problems))}" for name, problems in field_errors.items()])

    def body(self) -> dict[str, list[str]]:
        return {"errors": self.errors, **({"warnings": self.warnings} if self.warnings else {})}
