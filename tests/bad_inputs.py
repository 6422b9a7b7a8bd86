"""Inputs every command must refuse with a one-line error (shared by the CLI tests)."""

FRENCH = (
    "Le conseil a déclaré mardi que le nouveau pont ouvrirait cette année, l'un "
    "des trois projets retardés par la crue, selon les ingénieurs de la ville."
)

# (input bytes, a word the error message must contain)
BAD_INPUTS = [
    (b"", "empty"),
    (b"   \n\t\n", "empty"),
    (b"\x00\x01\x02\x03binary\x00", "binary"),
    (b"caf\xe9 au lait \xff\xfe", "not valid UTF-8"),
    (FRENCH.encode(), "English"),
]
