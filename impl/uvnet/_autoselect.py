"""Process-wide defaults for ``socket.connect()``'s Happy Eyeballs options.

Node keeps these as module state in lib/net.js, seeded from ``--network-family-autoselection``
(default true) and ``--network-family-autoselection-attempt-timeout`` (default 250 ms).  uvnet has no
command line; the defaults are Node's built-in ones.  ``_connect`` reads them through the getters.
"""

from __future__ import annotations

from .errors import validate_boolean, validate_int32

__all__ = [
    "getDefaultAutoSelectFamily",
    "getDefaultAutoSelectFamilyAttemptTimeout",
    "setDefaultAutoSelectFamily",
    "setDefaultAutoSelectFamilyAttemptTimeout",
]

_auto_select_family: bool = True
_auto_select_family_attempt_timeout: int = 250


def getDefaultAutoSelectFamily() -> bool:  # node: getDefaultAutoSelectFamily
    return _auto_select_family


def setDefaultAutoSelectFamily(value: object = None) -> None:  # node: setDefaultAutoSelectFamily
    global _auto_select_family
    _auto_select_family = validate_boolean(value, "value")


def getDefaultAutoSelectFamilyAttemptTimeout() -> int:  # node: getDefaultAutoSelectFamilyAttemptTimeout
    return _auto_select_family_attempt_timeout


def setDefaultAutoSelectFamilyAttemptTimeout(value: object = None) -> None:
    # node: setDefaultAutoSelectFamilyAttemptTimeout
    """Must be an int32 >= 1 (a number: ``'100'`` is rejected); values below 10 become 10."""
    global _auto_select_family_attempt_timeout
    timeout = validate_int32(value, "value", 1)
    _auto_select_family_attempt_timeout = max(timeout, 10)
