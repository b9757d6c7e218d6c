"""uvnet: Node.js's net module on uvloop. The public surface only: re-exports, nothing else."""

from . import promises
from ._abort import AbortController, AbortSignal
from ._autoselect import (
    getDefaultAutoSelectFamily,
    getDefaultAutoSelectFamilyAttemptTimeout,
    setDefaultAutoSelectFamily,
    setDefaultAutoSelectFamilyAttemptTimeout,
)
from ._handles import BoundSocket
from ._ip import isIP, isIPv4, isIPv6
from ._runtime import run
from .address import SocketAddress
from .blocklist import BlockList
from .server import Server, createServer
from .socket import Socket, Stream, connect, createConnection

__all__ = [
    "AbortController",
    "AbortSignal",
    "BlockList",
    "BoundSocket",
    "Server",
    "Socket",
    "SocketAddress",
    "Stream",
    "connect",
    "createConnection",
    "createServer",
    "getDefaultAutoSelectFamily",
    "getDefaultAutoSelectFamilyAttemptTimeout",
    "isIP",
    "isIPv4",
    "isIPv6",
    "promises",
    "run",
    "setDefaultAutoSelectFamily",
    "setDefaultAutoSelectFamilyAttemptTimeout",
]
