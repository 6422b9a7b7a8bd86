"""A clean page with one spun paragraph (shared by the detect, restore and page tests)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Written for the tests: one paragraph spun with a content farm's habits.
SPUN_PARAGRAPH = (
    "The officials stated the troopers got here underneath assault close to the border this "
    "12 months, and the commander instructed reporters that certainly one of the autos was "
    "broken. In accordance with the ministry, the injured males have been taken to hospital, "
    "and the military stated an replace on their situation can be revealed subsequent week, "
    "after which the troopers would return to the city."
)


def clean_page() -> str:
    """Four of our own clean texts (corpus/own, CC0), as the paragraphs of one page."""
    return "\n\n".join(p.read_text(encoding="utf-8")
                       for p in sorted((ROOT / "corpus" / "own").glob("*.txt"))[:4])
