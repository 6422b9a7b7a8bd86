"""unspin: find spun text, restore the original wording, explain every change.

The whole product from one import: ``restore``, ``detect``, ``trace`` and
``group`` over an ``Index`` of originals, and ``learn_pairs`` /
``learn_site``. The functions are bound after their modules are imported,
so ``unspin.trace`` is the function even though a module has that name.

>>> import unspin
>>> idx = unspin.Index(":memory:")
>>> _ = idx.add([("src", "The officer told CNN on Monday that his unit was sent to Crimea "
...                      "and that he resigned his commission on the spot.")])
>>> unspin.trace("The officer instructed CNN on Monday that his unit was despatched to "
...              "Crimea and that he resigned his fee on the spot.", idx).matches[0].id
'src'
"""

from .detect import Detection, Detector, Finding, detect
from .index import Index
from .learn import learn_pairs, learn_site
from .restore import Change, Restoration, Restorer, restore
from .text import Document, InputError
from .trace import group, trace

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
