"""unspin: find spun text, restore the original wording, explain every change."""

from .restore import Change, Restoration, Restorer, restore
from .text import Document, InputError

__all__ = ["Change", "Document", "InputError", "Restoration", "Restorer", "restore"]
__version__ = "0.1.0"
