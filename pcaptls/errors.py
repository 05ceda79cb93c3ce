"""Errors that reach the user as one line and exit code 2.

Every layer raises a subclass of :class:`InputError` for input the user gave us
that cannot be read at all; the CLI prints ``str(error)`` and exits 2.
"""

from __future__ import annotations


class InputError(Exception):
    """Input that cannot be used at all: not a capture, unreadable, bad option."""


class CaptureError(InputError):
    """A capture file that cannot be read (not a capture, cut before any frame, …)."""


class KeyLogError(InputError):
    """A key log file that cannot be opened at all (malformed lines are only counted)."""
