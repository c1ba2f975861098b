"""The errors tidalsort raises for bad input and failures outside it: one family, told in one line.

Importing nothing, so that every stage can raise them. The command line prints any
:class:`TidalsortError` (and an :class:`OSError` of the file system) as one line naming what
is wrong; anything else is a bug, printed with its traceback and :data:`REPORT`.

The members defined beside the code that raises them: :class:`~tidalsort.analysis.audio.UnreadableAudio`,
:class:`~tidalsort.output.bank.BankClash`, :class:`~tidalsort.live.bridge.BridgeError`,
:class:`~tidalsort.pipeline.NothingToSort` and :class:`~tidalsort.pipeline.StrictSkip`.
"""

from __future__ import annotations

#: The line printed under the traceback of a bug.
REPORT = "tidalsort: this is a bug in tidalsort: please report it to its developers, with the lines above"


class TidalsortError(Exception):
    """Bad input or a failure outside tidalsort; its message is one line naming what and where."""


class UsageError(TidalsortError, ValueError):
    """A user's mistake: a bad option, bank name or query (a :class:`ValueError`, so argparse
    reports one raised by an argument's type as a usage error)."""


class BadOption(UsageError):
    """An option with a value it cannot take."""


class NotFound(UsageError):
    """A bank or sample that is not there."""


class ManifestError(TidalsortError):
    """The manifest cannot be read or has a version this tidalsort does not know."""


class DamagedIndex(TidalsortError, ValueError):
    """A bank's feature index is missing pieces or does not match its manifest entry: sort it again."""
