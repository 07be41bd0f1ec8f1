# aiosecret: which kwargs are secret (psk, token...). Their values are
# masked in every view and kept out of the journal. A module of its own, as
# the boot needs only this of the occasional calls (aiotools).
from micropython import const

# the words a secret key holds (a const: the module is let go of after each use)
_WORDS = const(("password", "passwd", "secret", "token", "key", "psk"))


def is_secret(key):
    key = key.lower()
    return any(word in key for word in _WORDS)
