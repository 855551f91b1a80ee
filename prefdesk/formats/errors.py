"""Errors that carry their place: file, line, field and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass


class FieldError(Exception):
    """Raised by a converter: `field` is a dotted path inside the record."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RecordError:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ImportRefused(Exception):
    """The file was refused whole; the project is unchanged. `errors` lists every bad record."""

    SHOWN = 20

    def __init__(self, path: str, errors: list[RecordError], total: int | None = None,
                 skip_hint: str = "import the good records and write the rejects beside the file"):
        self.path = path
        self.skip_hint = skip_hint
        self.errors = errors
        self.total = total if total is not None else len(errors)
        super().__init__(self.describe())

    def describe(self) -> str:
        head = f"{self.path}: refused, {self.total} bad record(s); the project is unchanged"
        lines = [head] + [f"  {e}" for e in self.errors[: self.SHOWN]]
        if self.total > self.SHOWN:
            lines.append(f"  ... and {self.total - self.SHOWN} more")
        if self.total and self.errors[0].line:
            lines.append(f"  (use --skip-bad to {self.skip_hint})")
        return "\n".join(lines)
