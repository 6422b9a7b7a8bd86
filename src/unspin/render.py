"""Human-readable renderings of a restoration (the CLI's ``--format diff``).

>>> from unspin.restore import Change
>>> print(render_diff("the officer instructed CNN", [Change(12, 22, "instructed", "told", 0.9)]))
the officer [-instructed-]{+told+} CNN
"""

from __future__ import annotations

from collections.abc import Sequence

_RED, _GREEN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"


def render_diff(text: str, changes: Sequence, color: bool = False) -> str:
    """Inline word diff: ``[-spun-]{+restored+}``, or red/green on a terminal."""
    out, pos = [], 0
    for c in changes:
        out.append(text[pos : c.start])
        if color:
            out.append(f"{_RED}{c.spun}{_RESET}{_GREEN}{c.restored}{_RESET}")
        else:
            out.append(f"[-{c.spun}-]{{+{c.restored}+}}")
        pos = c.end
    out.append(text[pos:])
    return "".join(out)
