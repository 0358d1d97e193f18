"""The one error the CLI turns into exit code 2 and a single line on stderr."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from the command line: each line names a field and its problem (one line,
    except where a whole file is checked and every problem in it is listed)."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
