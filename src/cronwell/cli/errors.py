"""The one error the CLI turns into exit code 2 and a single line on stderr."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the command line: ``str(error)`` names the field and the problem."""
