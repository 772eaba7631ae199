"""Errors that end a command with a one-line message and a documented exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_BUDGET = 3
EXIT_PROBLEMS = 4  # the run finished, but problems remain after the repair round (status done-with-problems)


class PapercoderError(Exception):
    """Base error: its message is one line that names the problem and the fix."""

    exit_code = EXIT_FAILURE


class InputError(PapercoderError):
    """The user's input (a file, an option) cannot be used."""

    exit_code = EXIT_BAD_INPUT


class ModelError(PapercoderError):
    """A model call failed after its retries."""


class StageError(PapercoderError):
    """A pipeline stage could not produce a valid artifact."""


class StorageError(PapercoderError):
    """A file of the run could not be written: the disk is full, over quota or read-only."""


class BudgetExceeded(PapercoderError):
    """The next call would pass a cost or token budget."""

    exit_code = EXIT_BUDGET
