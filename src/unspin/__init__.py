"""unspin: find spun text, restore the original wording, explain every change."""

from .detect import Detection, Detector, Finding, detect
from .restore import Change, Restoration, Restorer, restore
from .text import Document, InputError

__all__ = [
    "Change",
    "Detection",
    "Detector",
    "Document",
    "Finding",
    "InputError",
    "Restoration",
    "Restorer",
    "detect",
    "restore",
]
__version__ = "0.1.0"
