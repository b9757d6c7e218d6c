"""uvnet: Node.js's net module on uvloop. The public surface only: re-exports, nothing else."""

from ._autoselect import (
    getDefaultAutoSelectFamily,
    getDefaultAutoSelectFamilyAttemptTimeout,
    setDefaultAutoSelectFamily,
    setDefaultAutoSelectFamilyAttemptTimeout,
)
from ._ip import isIP, isIPv4, isIPv6
from .address import SocketAddress
from .blocklist import BlockList

__all__ = [
    "BlockList",
    "SocketAddress",
    "getDefaultAutoSelectFamily",
    "getDefaultAutoSelectFamilyAttemptTimeout",
    "isIP",
    "isIPv4",
    "isIPv6",
    "setDefaultAutoSelectFamily",
    "setDefaultAutoSelectFamilyAttemptTimeout",
]
