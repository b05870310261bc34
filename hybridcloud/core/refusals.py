"""The one domain refusal: a service that refuses to act raises `Refused` (or a subclass), nothing changed; the
API's exception handler (hybridcloud/core/api.py) answers it once for every view: its `status_code` (400 by
default; 409 when something else in progress is in the way) with ``{"errors": [...]}``, plus ``"warnings"`` when
an override would have to accept some.

A request body DRF did not validate is put into words here too, once for every API: `field_errors` (one entry per
field, nested fields as dotted paths) and `error_sentences` ("path: message", one per message)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

NON_FIELD_ERRORS = "non_field_errors"  # DRF's NON_FIELD_ERRORS_KEY, which this project leaves as it is


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


def _messages(errors: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Each message of DRF's (nested) errors with the dotted path of its field: a nested serializer's fields
    under its own ("scope.site"), a list's items under the list's (no index), a non-field message under its
    parent's path, or "" at the top."""
    if isinstance(errors, Mapping):
        for name, value in errors.items():
            key = path if name == NON_FIELD_ERRORS else f"{path}.{name}" if path else str(name)
            yield from _messages(value, key)
    elif isinstance(errors, (list, tuple)):
        for item in errors:
            yield from _messages(item, path)
    else:
        yield path, str(errors)


def field_errors(errors: object) -> dict[str, str]:
    """DRF's errors keyed by field: {"scope.site": "...", "scenario.rtt_ms": "..."}, each field's messages in one
    string (a message repeated by several items of a list said once); a message on no field under
    "non_field_errors"."""
    grouped: dict[str, list[str]] = {}
    for path, message in _messages(errors):
        said = grouped.setdefault(path or NON_FIELD_ERRORS, [])
        if message not in said:
            said.append(message)
    return {path: " ".join(messages) for path, messages in grouped.items()}


def error_sentences(errors: object) -> list[str]:
    """DRF's errors as sentences, one per message: "path: message", a message on no field on its own."""
    sentences: list[str] = []
    for path, message in _messages(errors):
        sentence = f"{path}: {message}" if path else message
        if sentence not in sentences:
            sentences.append(sentence)
    return sentences
