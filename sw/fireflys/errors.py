"""The one base class of the errors a user can cause (bad options, files, data, tools).

The CLI catches :class:`FireflysError` and prints its one-line message; every stage's error
class derives from it and keeps its own name (``ModelFormatError``, ``DatasetError``...).
"""

from __future__ import annotations


class FireflysError(Exception):
    """A problem the user can fix; the message names the file, field or option."""


class ConfigError(FireflysError, ValueError):
    """Options that cannot be honoured; the message names the option."""
