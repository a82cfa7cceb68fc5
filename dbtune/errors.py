"""Exceptions that mean "the user must change something", shown as one line, exit status 2."""

from __future__ import annotations


class DBTuneError(Exception):
    """A user-facing error: bad input, unreachable server, missing extension.

    The message must say what is wrong and how to fix it, on one line. The CLI prints it as
    ``dbtune: error: <message>`` and exits with status 2; it never shows a traceback.
    """


class LabError(DBTuneError):
    """The local lab could not be started, found, or stopped."""


class ConnectionFailed(DBTuneError):
    """A DSN could not be reached or authenticated."""
