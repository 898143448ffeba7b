"""Reading a file a merchant hands to the analytics commands (journeys, purchases)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from mercato.errors import FieldError, ValidationFailed


@contextmanager
def text_lines(file: Path) -> Iterator[TextIO]:
    """The file's UTF-8 text (a byte-order mark skipped); a file that cannot be read, or
    is not UTF-8, is refused as a whole, naming it."""
    try:
        with file.open(encoding="utf-8-sig", newline="") as lines:
            yield lines
    except OSError as exc:
        raise ValidationFailed(
            f"{file}: cannot be read ({exc.strerror}).", [FieldError(("file",), str(exc))]
        ) from None
    except UnicodeDecodeError:
        raise ValidationFailed(
            f"{file}: not UTF-8 text.", [FieldError(("file",), "not UTF-8 text")]
        ) from None
