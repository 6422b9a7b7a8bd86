"""Renderings of a restoration: the restored text itself, and the CLI's ``--format diff``.

>>> from unspin.restore import Change
>>> print(render_diff("the officer instructed CNN", [Change(12, 22, "instructed", "told", 0.9)]))
the officer [-instructed-]{+told+} CNN
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

_RED, _GREEN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"


def splice(text: str, changes: Sequence, show: Callable[[Any], str] = attrgetter("restored")
           ) -> str:
    """``text`` with each change's span (sorted, non-overlapping) replaced by ``show(change)``.

    >>> from unspin.restore import Change
    >>> splice("this 12 months", [Change(5, 14, "12 months", "year", 0.9)])
    'this year'
    """
    out, pos = [], 0
    for c in changes:
        out.append(text[pos : c.start])
        out.append(show(c))
        pos = c.end
    out.append(text[pos:])
    return "".join(out)


def render_diff(text: str, changes: Sequence, color: bool = False) -> str:
    """Inline word diff: ``[-spun-]{+restored+}``, or red/green on a terminal."""
    if color:
        return splice(text, changes,
                      lambda c: f"{_RED}{c.spun}{_RESET}{_GREEN}{c.restored}{_RESET}")
    return splice(text, changes, lambda c: f"[-{c.spun}-]{{+{c.restored}+}}")
