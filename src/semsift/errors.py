"""Exceptions semsift raises besides the standard ones.

Bad input raises the standard exception a Python user expects (``TypeError`` for a
value of the wrong type, ``ValueError`` for a value that cannot work), naming the record
and the column; these subclasses say more precisely what was wrong.
"""

from semsift._native import SemsiftError


class MissingColumnError(KeyError, ValueError):
    """A record lacks a requested column (or holds ``None`` there).

    A ``KeyError`` (a missing key) and a ``ValueError`` (what SemHash raises), so code
    written for either catches it. ``index`` is the record's position, ``column`` the column.
    """

    def __init__(self, index: int, column: str, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.column = column

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class FieldPathError(ValueError):
    """A field path or chat preset cannot be followed in a record: an index out of range,
    no element matching a ``[key=value]`` filter, a conversation without the turns asked
    for. ``index`` is the record's (or table row's) position, ``column`` the field as
    given; the message names the part of the path that failed.
    """

    def __init__(self, index: int, column: str, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.column = column


class InputFileError(ValueError):
    """A row of an input file cannot be read (``semsift.ray``): ``path`` is the file,
    ``line`` the 1-based line (``None`` where the format has no lines), ``column`` the
    column or field path (``None`` when the row itself is bad); the message says what was
    wrong."""

    def __init__(self, path: str, line: "int | None", column: "str | None", message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column


class EncoderError(ValueError):
    """An encoder returned something other than one vector per text (wrong shape or type)."""


__all__ = ["EncoderError", "FieldPathError", "InputFileError", "MissingColumnError", "SemsiftError"]
