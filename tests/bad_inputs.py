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
    # No spaces to count words by: the script is the tell.
    ("市议会周二告诉记者，新桥将于今年开通，这是因洪水而推迟的三个项目之一。".encode(), "English"),
    ("市議会は火曜日、新しい橋が今年開通すると記者団に語った。".encode(), "English"),
    (b"12345 67890 !!! ### 2024-01-01 -- 42", "no words"),
    ("\ufeffThe council said".encode("utf-16"), "UTF-16"),
]
