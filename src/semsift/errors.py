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


class EncoderError(ValueError):
    """An encoder returned something other than one vector per text (wrong shape or type)."""


__all__ = ["EncoderError", "MissingColumnError", "SemsiftError"]
