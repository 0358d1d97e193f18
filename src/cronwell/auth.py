"""Who may act: roles, API tokens and user passwords, as pure values and functions.

Nothing here touches the store; ``cronwell.store.auth`` keeps users and tokens, and keeps
only what these functions derive (a token's hash, a password's hash), never the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum


class Role(StrEnum):
    """What a principal may do; each role may do everything the ones below it may."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def is_at_least(self, other: Role) -> bool:
        """Whether this role may do all that ``other`` may (admin > operator > viewer)."""
        return self.rank >= other.rank


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


class AuthError(ValueError):
    """A bad role, user or token definition: ``field: problem``, as SpecError words it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def parse_role(value: str, *, field: str = "role") -> Role:
    """The role named ``value``, or an AuthError listing the roles there are."""
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise AuthError(field, f"unknown role {value!r} (one of {known})") from None


# A token says what it is when it turns up in a log or a leaked file, and secret scanners
# can match it; the prefix carries no secret.
TOKEN_PREFIX = "cwt_"


def new_token() -> str:
    """A fresh API token: the prefix and 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the store keeps of a token: SHA-256, hex. A token is 256 random bits, so no
    guess can find it and a fast hash is enough (a slow, salted one is for passwords,
    which people choose); a fast unsalted hash also lets the store find a token by it."""
    return hashlib.sha256(token.encode()).hexdigest()


# scrypt's cost: n=2**14, r=8 takes ~16 MiB and some tens of milliseconds, the figures
# the standard library's documentation and RFC 7914 give for interactive logins.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SCRYPT_SCHEME = "scrypt"


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``, with its parameters, as one string:
    ``scrypt$n$r$p$salt-hex$hash-hex``. Keeping the parameters lets them grow later
    without making stored hashes unreadable."""
    salt = secrets.token_bytes(16)
    derived = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    fields = (_SCRYPT_SCHEME, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, salt.hex(), derived.hex())
    return "$".join(str(field) for field in fields)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from. The comparison takes the
    same time wherever the hashes differ, so timing tells an attacker nothing; a stored
    value that is not a hash this module made never matches."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != _SCRYPT_SCHEME:
            return False
        derived = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
        return hmac.compare_digest(derived, bytes.fromhex(expected))
    except ValueError:
        return False


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


# A token given from outside (CRONWELL_ADMIN_TOKEN) must be as hard to guess as one we make
# would be near enough: 32 characters of its alphabet carry at least 128 random bits when
# drawn from hex, and it travels in an Authorization header, so nothing outside the alphabet.
GIVEN_TOKEN_LENGTH = 32
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def check_given_token(token: str, *, field: str = "token") -> str:
    """``token`` if it may serve as an API token chosen by a person; an AuthError saying why
    not otherwise."""
    secret = token.removeprefix(TOKEN_PREFIX)
    if secret == token:
        raise AuthError(field, f"must start with {TOKEN_PREFIX}")
    if len(secret) < GIVEN_TOKEN_LENGTH:
        raise AuthError(
            field, f"must have at least {GIVEN_TOKEN_LENGTH} characters after {TOKEN_PREFIX}"
        )
    if not set(secret) <= _TOKEN_ALPHABET:
        raise AuthError(field, "may hold only letters, digits, '-' and '_'")
    return token
