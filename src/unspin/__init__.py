"""unspin: find spun text, restore the original wording, explain every change.

The whole product from one import: ``restore``, ``detect``, and (loaded on
first use, so that ``import unspin`` stays quick) ``trace`` and ``group``
over an ``Index`` of originals, and ``learn_pairs`` / ``learn_site``.

>>> import unspin
>>> idx = unspin.Index(":memory:")
>>> _ = idx.add([("src", "The officer told CNN on Monday that his unit was sent to Crimea "
...                      "and that he resigned his commission on the spot.")])
>>> unspin.trace("The officer instructed CNN on Monday that his unit was despatched to "
...              "Crimea and that he resigned his fee on the spot.", idx).matches[0].id
'src'
"""

from importlib import import_module
from typing import Any

from .detect import Detection, Detector, Finding, detect
from .restore import Change, Restoration, Restorer, restore
from .text import Document, InputError

# Name -> module for what loads on first use (PEP 562).
_LAZY = {"trace": "trace", "group": "trace", "Index": "index", "learn_pairs": "learn",
         "learn_site": "learn"}

__all__ = [
    "Change",
    "Detection",
    "Detector",
    "Document",
    "Finding",
    "Index",
    "InputError",
    "Restoration",
    "Restorer",
    "detect",
    "group",
    "learn_pairs",
    "learn_site",
    "restore",
    "trace",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # once: later lookups are plain attributes
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
