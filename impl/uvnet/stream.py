"""Node's stream machinery for ``net.Socket``: ``Readable``, ``Writable`` and ``Duplex``.

Theory of operation
-------------------
This is a port of the behaviour of Node 24's ``lib/internal/streams/{readable,writable,duplex,destroy,
state}.js`` as it runs (v24.21.0), byte mode only.  The implementer contract is Node's: a subclass
implements ``_read(size)`` (call ``push(chunk)`` now or later, ``push(None)`` at EOF),
``_write(chunk, encoding, callback)``, optionally ``_writev(chunks, callback)``, ``_final(callback)``
and ``_destroy(err, callback)``.  Every callback is ``callback()`` or ``callback(err)``.

All state lives in two slotted objects with Node's field names, ``stream._readableState`` and
``stream._writableState`` (a ``Duplex`` has both, a ``Readable``/``Writable`` one), so code ported
from ``lib/net.js`` (``socket._readableState.endEmitted``, ``_writableState.length``) reads the same.
Tri-state JS flags are ``None``/``True``/``False``: ``flowing`` (``None`` = nobody asked yet),
``paused`` (``None`` = never paused nor resumed), ``readable``/``writable`` (``False`` = that side was
disabled at construction).

Readable side.  ``push(chunk)`` appends to ``buffer`` (a deque of ``bytes``, or of ``str`` once
``setEncoding`` installed a decoder) and bumps ``length``; the fast path (flowing, a ``'data'``
listener, not inside ``_read``'s synchronous part, nothing buffered) emits ``'data'`` directly, as
Node's ``addChunk`` does.  ``read(n)`` drains the buffer, calls ``_read`` when below the high-water
mark, and is also what the flowing loop (``flow``) calls.  Flowing starts with ``resume()`` (which
adding a ``'data'`` listener calls unless the stream was explicitly paused); ``resume`` and
``'resume'`` happen on the next tick (``_resume_nt``), ``pause()`` emits ``'pause'`` synchronously.
``push(None)`` sets ``ended``; ``'end'`` is emitted from ``_end_readable_nt`` on a later tick, once
the buffer is empty (Node's ``endReadableNT``).

Writable side.  ``write`` validates and converts the chunk, then either calls ``_write`` (nothing in
flight) or queues a :class:`WriteRequest` (``writing``, ``corked`` or errored).  ``write`` returns
``False`` once ``length >= highWaterMark`` and sets ``needDrain``; ``'drain'`` follows when the last
byte is written.  ``_write``'s callback is ``_onwrite``: when it completes synchronously the user's
callback (and ``'drain'``) are deferred to the next tick (``_after_write_tick_nt``), coalescing runs of
the same callback as Node does; when it completes later they run at once.  ``end()`` sets ``ending``;
once nothing is in flight ``_final`` runs, then ``'prefinish'`` and, on a later tick, ``'finish'``.

Close.  ``destroy(err)`` marks both sides destroyed, calls ``_destroy``; its callback schedules
``_emit_error_close_nt`` (``'error'`` then ``'close'``) or ``_emit_close_nt`` on the next tick.  With
``autoDestroy`` (the default) a Duplex destroys itself when the second of ``'end'`` and ``'finish'``
happens, so the order is always ``end``/``finish`` -> ``close``; with ``allowHalfOpen=False`` the
writable side is ended on the tick after ``'end'`` (``_end_writable_nt``).  ``emitClose=False`` (as
net.Socket uses) suppresses the stream's own ``'close'``.

Traps (all measured on Node, see ``tests/test_stream.py``):

* Everything deferred goes through ``_runtime.next_tick`` and is named ``*_nt``.  The *number* of
  ticks matters, not only their order: ``'finish'`` is one tick after ``_final``'s callback, ``'close'``
  one tick after ``destroy``, ``'end'`` one tick after the read that found the buffer empty.
* A write after ``end()`` calls the callback with ``ERR_STREAM_WRITE_AFTER_END`` on the next tick and,
  on the tick after (autoDestroy), emits ``'error'`` then ``'close'``.  A write after ``destroy()`` only
  calls back (``ERR_STREAM_DESTROYED``): errors are never emitted twice nor after destroy.
* Node's ``onwrite`` computes ``needTick`` with a precedence slip (``state & kDestroyed !== 0``), so a
  destroyed stream does not force a tick; kept as is, it shapes ordering.
* JS string lengths are UTF-16 code units: ``length`` counts strings that way (decodeStrings=False
  writes, decoded reads) so ``writableLength``/``readableLength`` match Node for astral characters.
* ``readable`` listeners switch the stream to paused mode (``flowing=False``) and win over ``'data'``.
* ``push(None)`` is EOF (JS ``push(null)``); for ``write``, ``errors.NULL`` is JS ``null``
  (``ERR_STREAM_NULL_VALUES``) and ``None``/no chunk is ``undefined`` (``ERR_INVALID_ARG_TYPE``).
  Bytes-like chunks are copied to ``bytes`` (``'data'`` always carries ``bytes``, or ``str`` after
  ``setEncoding``); a ``bytearray`` written is copied at write time.
* Object mode is not supported (``objectMode`` options raise); ``_construct`` and ``signal`` neither.

Performance: ``write(bytes)`` and ``push(bytes)`` have fast paths (``Writable.write``, ``Readable.push``,
the head of ``_onwrite``) that fold the general code's type tests and inline ``writeOrBuffer``'s direct
branch; they must stay in step with ``_write_or_buffer`` and ``_add_chunk``.  No allocation per chunk
beyond the ``WriteRequest`` of a queued write, no task and no tick per write when the sink completes
synchronously without a callback.  Node's ``kExpectWriteCb`` is always equal to ``kWriting``, so
``writing`` serves as both.

References: Node v24.21.0 ``lib/internal/streams/*.js`` and ``lib/string_decoder.js``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import deque
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final, NamedTuple, Self, cast

from ._runtime import Runtime, next_tick
from .errors import NULL, NodeError, make_error
from .events import EventEmitter, Listener

__all__ = [
    "Duplex",
    "Readable",
    "ReadableState",
    "StringDecoder",
    "Writable",
    "WritableState",
    "WriteRequest",
    "WriteRequests",
    "buffer_from_string",
    "buffer_to_string",
    "getDefaultHighWaterMark",
    "isEncoding",
    "normalizeEncoding",
    "setDefaultHighWaterMark",
]

Callback = Callable[..., object]
Chunk = bytes | str

# ---------------------------------------------------------------------------------------------------
# Encodings (Buffer.from(string, enc), buf.toString(enc), StringDecoder)

_ENCODINGS: Final[dict[str, str]] = {
    "utf8": "utf8",
    "utf-8": "utf8",
    "hex": "hex",
    "base64": "base64",
    "base64url": "base64url",
    "ascii": "ascii",
    "latin1": "latin1",
    "binary": "latin1",
    "ucs2": "utf16le",
    "ucs-2": "utf16le",
    "utf16le": "utf16le",
    "utf-16le": "utf16le",
}


def normalizeEncoding(enc: object) -> str | None:  # node: internal/util normalizeEncoding
    """Node's canonical name of ``enc`` (``None``/``''`` mean utf8), or ``None`` if unknown."""
    if enc is None or enc is NULL or enc == "":
        return "utf8"
    if not isinstance(enc, str):
        return None
    found = _ENCODINGS.get(enc)
    return found if found is not None else _ENCODINGS.get(enc.lower())


def isEncoding(enc: object) -> bool:  # node: Buffer.isEncoding
    return isinstance(enc, str) and enc != "" and normalizeEncoding(enc) is not None


_HEX_PAIRS: Final = re.compile(r"(?:[0-9a-fA-F]{2})*")
_B64_STRIP: Final = re.compile(r"[^A-Za-z0-9+/\-_]")
_B64_TO_STD: Final = str.maketrans("-_", "+/")
_ASCII_MASK: Final = bytes(i & 0x7F for i in range(256))


def _utf16_units(s: str) -> bytes:
    return s.encode("utf-16-le", "surrogatepass")


def buffer_from_string(s: str, encoding: str | None = "utf8") -> bytes:  # node: Buffer.from(string, enc)
    """The bytes Node's ``Buffer.from(s, encoding)`` gives (lenient hex/base64, as Node decodes)."""
    enc = normalizeEncoding(encoding)
    if enc == "utf8":
        try:
            return s.encode("utf-8")
        except UnicodeEncodeError:
            # Surrogates: pairs join (JS strings are UTF-16), lone ones become U+FFFD, as in Node.
            return _utf16_units(s).decode("utf-16-le", "replace").encode("utf-8")
    if enc == "latin1" or enc == "ascii":
        try:
            return s.encode("latin-1")
        except UnicodeEncodeError:
            return _utf16_units(s)[::2]  # each UTF-16 code unit & 0xFF
    if enc == "utf16le":
        return _utf16_units(s)
    if enc == "hex":
        m = _HEX_PAIRS.match(s)
        return bytes.fromhex(m.group(0)) if m else b""
    if enc == "base64" or enc == "base64url":
        data = s.split("=", 1)[0]
        data = _B64_STRIP.sub("", data).translate(_B64_TO_STD)
        usable = len(data) - (len(data) % 4 == 1)
        data = data[:usable]
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4))
        except (binascii.Error, ValueError):  # pragma: no cover - filtered input always decodes
            return b""
    raise make_error("ERR_UNKNOWN_ENCODING", encoding)


def buffer_to_string(b: bytes, encoding: str | None = "utf8") -> str:  # node: buf.toString(enc)
    enc = normalizeEncoding(encoding)
    if enc == "utf8":
        return b.decode("utf-8", "replace")
    if enc == "latin1":
        return b.decode("latin-1")
    if enc == "ascii":
        return b.translate(_ASCII_MASK).decode("ascii")
    if enc == "hex":
        return b.hex()
    if enc == "base64":
        return base64.b64encode(b).decode("ascii")
    if enc == "base64url":
        return base64.urlsafe_b64encode(b).decode("ascii").rstrip("=")
    if enc == "utf16le":
        return b[: len(b) & ~1].decode("utf-16-le", "surrogatepass")
    raise make_error("ERR_UNKNOWN_ENCODING", encoding)


def _js_len(s: str) -> int:
    """A JS string's ``length``: UTF-16 code units."""
    if s.isascii():
        return len(s)
    return len(_utf16_units(s)) >> 1


def _js_split(s: str, n: int) -> tuple[str, str]:
    """``(s.slice(0, n), s.slice(n))`` with JS (UTF-16) indices."""
    if s.isascii():
        return s[:n], s[n:]
    units = _utf16_units(s)
    return (
        units[: 2 * n].decode("utf-16-le", "surrogatepass"),
        units[2 * n :].decode("utf-16-le", "surrogatepass"),
    )


def _utf8_lead_length(byte: int) -> int:  # node: utf8CheckByte
    """Sequence length announced by a lead byte; -1 for a continuation byte, -2 for an invalid one.
    Like Node, C0/C1 and F5-F7 count as lead bytes, so they are held back rather than replaced at once."""
    if byte <= 0x7F:
        return 0
    if byte >> 5 == 0x06:
        return 2
    if byte >> 4 == 0x0E:
        return 3
    if byte >> 3 == 0x1E:
        return 4
    return -1 if byte >> 6 == 0x02 else -2


def _utf8_incomplete_tail(data: bytes) -> int:  # node: utf8CheckIncomplete
    """How many trailing bytes begin a character that the next chunk may complete."""
    n = len(data)
    for back in (1, 2, 3):
        if back > n:
            return 0
        need = _utf8_lead_length(data[n - back])
        if need >= 0:
            return back if need > back else 0
        if need == -2:
            return 0
    return 0


class StringDecoder:  # node: string_decoder.StringDecoder
    """Decodes a byte stream to text without splitting multi-byte characters across chunks."""

    __slots__ = ("_pending", "_utf8", "encoding")

    def __init__(self, encoding: str | None = None) -> None:
        enc = normalizeEncoding(encoding)
        if enc is None:
            raise make_error("ERR_UNKNOWN_ENCODING", encoding)
        self.encoding: str = enc
        self._utf8 = enc == "utf8"
        self._pending = b""

    def write(self, buf: bytes | str) -> str:  # node: StringDecoder.prototype.write
        if isinstance(buf, str):
            return buf
        if self._utf8:
            data = self._pending + buf if self._pending else buf
            hold = _utf8_incomplete_tail(data)
            if hold:
                self._pending = data[-hold:]
                return data[:-hold].decode("utf-8", "replace")
            self._pending = b""
            return data.decode("utf-8", "replace")
        enc = self.encoding
        if enc == "utf16le":
            data = self._pending + buf if self._pending else buf
            cut = len(data) & ~1
            # DIVERGENCE(stream-utf16-surrogate-split): Node hands out a trailing high surrogate at
            # once (JS strings re-join it); a Python str cannot, so it waits for its low half.
            if cut >= 2 and 0xD8 <= data[cut - 1] <= 0xDB:
                cut -= 2
            self._pending = data[cut:]
            return data[:cut].decode("utf-16-le", "surrogatepass")
        if enc == "base64" or enc == "base64url":
            data = self._pending + buf if self._pending else buf
            cut = len(data) - len(data) % 3
            self._pending = data[cut:]
            return buffer_to_string(data[:cut], enc)
        return buffer_to_string(buf, enc)

    def end(self, buf: bytes | None = None) -> str:  # node: StringDecoder.prototype.end
        text = self.write(buf) if buf else ""
        pending, self._pending = self._pending, b""
        if self.encoding == "utf16le":
            return text + buffer_to_string(pending, "utf16le")
        if pending:
            return text + buffer_to_string(pending, self.encoding)
        return text


# ---------------------------------------------------------------------------------------------------
# Options


_default_hwm: int = 65536  # node: Stream.defaultHighWaterMark (64 KiB since Node 22; measured on 24)
_default_object_hwm: int = 16  # node: Stream.defaultObjectModeHighWaterMark (kept for the API only)


def getDefaultHighWaterMark(objectMode: bool = False) -> int:  # node: stream.getDefaultHighWaterMark
    return _default_object_hwm if objectMode else _default_hwm


def setDefaultHighWaterMark(objectMode: bool, value: float) -> None:  # node: stream.setDefaultHighWaterMark
    global _default_hwm, _default_object_hwm
    # node: validateInteger(value, 'value', 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise make_error("ERR_INVALID_ARG_TYPE", "value", "number", value)
    if isinstance(value, float) and not value.is_integer():
        raise make_error("ERR_OUT_OF_RANGE", "value", "an integer", value)
    if value < 0 or value > 2**53 - 1:
        raise make_error("ERR_OUT_OF_RANGE", "value", ">= 0 && <= 9007199254740991", value)
    if objectMode:
        _default_object_hwm = int(value)
    else:
        _default_hwm = int(value)


def _nullish(v: object) -> bool:
    return v is None or v is NULL


def _get_hwm(options: Mapping[str, Any], duplex_key: str, is_duplex: bool) -> int:  # node: getHighWaterMark
    hwm = options.get("highWaterMark")
    if _nullish(hwm) and is_duplex:
        hwm = options.get(duplex_key)
    if _nullish(hwm):
        return _default_hwm
    if (
        isinstance(hwm, bool)
        or not isinstance(hwm, (int, float))
        or (isinstance(hwm, float) and not hwm.is_integer())
        or hwm < 0
    ):
        name = f"options.{duplex_key}" if is_duplex else "options.highWaterMark"
        raise make_error("ERR_INVALID_ARG_VALUE", name, hwm)
    return int(hwm)


_UNSUPPORTED_OPTIONS: Final = ("objectMode", "readableObjectMode", "writableObjectMode", "construct")


def _merge_options(options: Mapping[str, Any] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    opts: dict[str, Any] = dict(options) if options else {}
    if kwargs:
        opts.update(kwargs)
    for key in _UNSUPPORTED_OPTIONS:
        value = opts.get(key)
        if value:
            # DIVERGENCE(stream-object-mode): object mode and async construction are not implemented.
            raise make_error("ERR_INVALID_ARG_VALUE", f"options.{key}", value, "is not supported by uvnet")
    # DIVERGENCE(stream-signal): `signal` is ignored here; net.Socket handles its own.
    return opts


def _default_encoding(options: Mapping[str, Any]) -> str:
    enc = options.get("defaultEncoding")
    if _nullish(enc) or enc == "utf8" or enc == "utf-8":
        return "utf8"
    if isEncoding(enc):
        return str(enc)
    raise make_error("ERR_UNKNOWN_ENCODING", enc)


# ---------------------------------------------------------------------------------------------------
# State objects: every flag in one place, with Node's names


# ReadableState.buffer until a chunk is buffered: an empty deque costs ~0.7 KiB per stream and most
# sockets never buffer.  A tuple, so an append that misses _chunks() fails loudly instead of sharing.
_NO_CHUNKS: Final = cast("deque[Chunk]", ())


def _chunks(state: ReadableState) -> deque[Chunk]:
    buf = state.buffer
    if buf is _NO_CHUNKS:
        buf = state.buffer = deque()
    return buf


class ReadableState:  # node: ReadableState
    __slots__ = (
        "autoDestroy",
        "awaitDrainWriters",
        "buffer",
        "closeEmitted",
        "closed",
        "constructed",
        "dataEmitted",
        "dataListening",
        "decoder",
        "defaultEncoding",
        "destroyed",
        "emitClose",
        "emittedReadable",
        "encoding",
        "endEmitted",
        "endScheduled",
        "ended",
        "errorEmitted",
        "errored",
        "flowing",
        "highWaterMark",
        "length",
        "multiAwaitDrain",
        "needReadable",
        "objectMode",
        "paused",
        "pipes",
        "readable",
        "readableListening",
        "reading",
        "readingMore",
        "resumeScheduled",
        "sync",
    )

    def __init__(self, options: Mapping[str, Any], is_duplex: bool) -> None:  # node: ReadableState
        self.objectMode: bool = False
        self.highWaterMark: int = _get_hwm(options, "readableHighWaterMark", is_duplex)
        self.buffer: deque[Chunk] = _NO_CHUNKS  # a deque from the first buffered chunk on (_chunks)
        self.length = 0  # bytes, or JS string length once decoding
        self.pipes: list[Any] = []
        self.flowing: bool | None = None
        self.ended = False  # push(None) seen
        self.endEmitted = False
        self.endScheduled = False
        self.reading = False  # _read called, no push yet
        self.constructed = True
        self.sync = True  # inside _read's synchronous part (true until the first read)
        self.needReadable = False
        self.emittedReadable = False
        self.readableListening = False
        self.resumeScheduled = False
        self.errorEmitted = False
        self.emitClose = options.get("emitClose") is not False
        self.autoDestroy = options.get("autoDestroy") is not False
        self.destroyed = False
        self.errored: BaseException | None = None
        self.closed = False
        self.closeEmitted = False
        self.defaultEncoding = _default_encoding(options)
        self.awaitDrainWriters: Any = None  # None | a Writable | set of Writables
        self.multiAwaitDrain = False
        self.readingMore = False
        self.dataEmitted = False
        self.dataListening = False
        self.paused: bool | None = None
        self.readable: bool | None = None
        self.decoder: StringDecoder | None = None
        self.encoding: str | None = None
        enc = options.get("encoding")
        if enc:
            self.decoder = StringDecoder(enc)
            self.encoding = enc  # as given ('UCS2'), unlike setEncoding, which normalises: as Node

    @property
    def pipesCount(self) -> int:  # node: ReadableState.pipesCount
        return len(self.pipes)


class WriteRequest(NamedTuple):
    """One queued write; ``_writev`` receives a list of these (Node's ``{chunk, encoding}``)."""

    chunk: Chunk
    encoding: str
    callback: Callback | None


class WriteRequests(list[WriteRequest]):
    """What ``_writev`` receives: the queued writes, and ``allBuffers`` as Node sets it on the array
    (true when every chunk is ``bytes``; net's ``writevGeneric`` picks its path on it)."""

    __slots__ = ("allBuffers",)

    def __init__(self, requests: list[WriteRequest], allBuffers: bool) -> None:
        super().__init__(requests)
        self.allBuffers = allBuffers


class _AfterWriteTickInfo:  # node: the afterWriteTickInfo object
    __slots__ = ("cb", "count", "state", "stream")

    def __init__(self, stream: Writable, state: WritableState, cb: Callback) -> None:
        self.stream = stream
        self.state = state
        self.cb = cb
        self.count = 1


class WritableState:  # node: WritableState
    __slots__ = (
        "afterWritePending",
        "afterWriteTickInfo",
        "allBuffers",
        "allNoop",
        "autoDestroy",
        "bufferProcessing",
        "buffered",
        "bufferedIndex",
        "closeEmitted",
        "closed",
        "constructed",
        "corked",
        "decodeStrings",
        "defaultEncoding",
        "destroyed",
        "emitClose",
        "ended",
        "ending",
        "errorEmitted",
        "errored",
        "finalCalled",
        "finished",
        "highWaterMark",
        "length",
        "needDrain",
        "objectMode",
        "onFinished",
        "onwrite",
        "pendingcb",
        "prefinished",
        "sync",
        "writable",
        "writecb",
        "writelen",
        "writing",
    )

    def __init__(self, options: Mapping[str, Any], stream: Writable, is_duplex: bool) -> None:
        self.objectMode: bool = False
        self.highWaterMark: int = _get_hwm(options, "writableHighWaterMark", is_duplex)
        self.finalCalled = False
        self.needDrain = False  # write() returned false; 'drain' owed
        self.ending = False  # end() called
        self.ended = False  # end() returned
        self.finished = False  # 'finish' emitted
        self.destroyed = False
        self.decodeStrings = options.get("decodeStrings") is not False
        self.defaultEncoding = _default_encoding(options)
        self.length = 0  # bytes (or JS string length) not yet acknowledged by _write's callback
        # A _write/_writev is in flight.  Node keeps a second flag, kExpectWriteCb, set and cleared
        # together with this one; `writing` doubles as it (a callback while not writing is a repeat).
        self.writing = False
        self.corked = 0
        self.sync = True  # inside _write's synchronous part
        self.bufferProcessing = False
        self.onwrite: Callable[..., None] = partial(_onwrite, stream)
        self.writecb: Callback | None = None
        self.writelen = 0
        self.afterWriteTickInfo: _AfterWriteTickInfo | None = None
        self.afterWritePending = False
        # Node's array + index: entries before bufferedIndex are consumed (None); the list stays
        # non-empty ("kBuffered") until resetBuffer, which needFinish relies on mid-clearBuffer.
        self.buffered: list[WriteRequest | None] = []
        self.bufferedIndex = 0
        self.allBuffers = True
        self.allNoop = True
        self.pendingcb = 0  # user callbacks (and _final) not yet called; 0 before 'finish'
        self.constructed = True
        self.prefinished = False
        self.errorEmitted = False
        self.emitClose = options.get("emitClose") is not False
        self.autoDestroy = options.get("autoDestroy") is not False
        self.errored: BaseException | None = None
        self.closed = False
        self.closeEmitted = False
        self.writable: bool | None = None
        self.onFinished: list[Callback] | None = None

    def getBuffer(self) -> list[WriteRequest]:  # node: WritableState.prototype.getBuffer
        return [req for req in self.buffered[self.bufferedIndex :] if req is not None]

    @property
    def bufferedRequestCount(self) -> int:  # node: WritableState.bufferedRequestCount
        return len(self.buffered) - self.bufferedIndex


def _reset_buffer(state: WritableState) -> None:  # node: resetBuffer
    state.buffered = []
    state.bufferedIndex = 0
    state.allBuffers = True
    state.allNoop = True


# ---------------------------------------------------------------------------------------------------
# destroy (destroy.js), shared by all three classes


def _r_state(stream: object) -> ReadableState | None:
    return getattr(stream, "_readableState", None)


def _w_state(stream: object) -> WritableState | None:
    return getattr(stream, "_writableState", None)


def _check_error(err: BaseException | None, w: WritableState | None, r: ReadableState | None) -> None:
    # node: checkError
    if err is not None:
        if w is not None and w.errored is None:
            w.errored = err
        if r is not None and r.errored is None:
            r.errored = err


def _destroy_stream(
    stream: Any, err: BaseException | None, cb: Callback | None
) -> Any:  # node: destroyImpl.destroy
    r = _r_state(stream)
    w = _w_state(stream)
    if (w is not None and w.destroyed) or (r is not None and r.destroyed):
        if cb is not None:
            cb(None)
        return stream
    _check_error(err, w, r)
    if w is not None:
        w.destroyed = True
    if r is not None:
        r.destroyed = True
    _call_destroy(stream, err, cb)
    return stream


def _call_destroy(stream: Any, err: BaseException | None, cb: Callback | None) -> None:  # node: _destroy
    called = False

    def on_destroy(err: BaseException | None = None) -> None:  # node: onDestroy
        nonlocal called
        if called:
            return
        called = True
        r = _r_state(stream)
        w = _w_state(stream)
        _check_error(err, w, r)
        if w is not None:
            w.closed = True
        if r is not None:
            r.closed = True
        if cb is not None:
            cb(err)
        if err is not None:
            _tick(stream, _emit_error_close_nt, stream, err)
        else:
            _tick(stream, _emit_close_nt, stream)

    try:
        stream._destroy(err, on_destroy)
    except Exception as exc:
        on_destroy(exc)


def _emit_error_close_nt(stream: Any, err: BaseException) -> None:  # node: emitErrorCloseNT
    _emit_error_nt(stream, err)
    _emit_close_nt(stream)


def _emit_close_nt(stream: Any) -> None:  # node: emitCloseNT
    r = _r_state(stream)
    w = _w_state(stream)
    if w is not None:
        w.closeEmitted = True
    if r is not None:
        r.closeEmitted = True
    if (w is not None and w.emitClose) or (r is not None and r.emitClose):
        stream.emit("close")


def _emit_error_nt(stream: Any, err: BaseException) -> None:  # node: emitErrorNT
    r = _r_state(stream)
    w = _w_state(stream)
    if (w is not None and w.errorEmitted) or (r is not None and r.errorEmitted):
        return
    if w is not None:
        w.errorEmitted = True
    if r is not None:
        r.errorEmitted = True
    stream.emit("error", err)


def _tick(stream: Any, fn: Callable[..., object], *args: object) -> None:
    """process.nextTick through the stream's runtime when it knows it (no running-loop lookup, which
    costs a getpid() system call)."""
    rt = stream._rt
    if rt is not None:
        rt.next_tick(fn, *args)
    else:
        next_tick(fn, *args)


def _error_or_destroy(stream: Any, err: BaseException, sync: bool = False) -> None:  # node: errorOrDestroy
    r = _r_state(stream)
    w = _w_state(stream)
    if (w is not None and w.destroyed) or (r is not None and r.destroyed):
        return
    if (r is not None and r.autoDestroy) or (w is not None and w.autoDestroy):
        stream.destroy(err)
    else:
        if w is not None and w.errored is None:
            w.errored = err
        if r is not None and r.errored is None:
            r.errored = err
        if sync:
            _tick(stream, _emit_error_nt, stream, err)
        else:
            _emit_error_nt(stream, err)


def _undestroy(stream: Any) -> None:  # node: destroyImpl.undestroy
    r = _r_state(stream)
    w = _w_state(stream)
    if r is not None:
        r.constructed = True
        r.closed = False
        r.closeEmitted = False
        r.destroyed = False
        r.errored = None
        r.errorEmitted = False
        r.reading = False
        r.ended = r.readable is False
        r.endEmitted = r.readable is False
    if w is not None:
        w.constructed = True
        w.destroyed = False
        w.closed = False
        w.closeEmitted = False
        w.errored = None
        w.errorEmitted = False
        w.finalCalled = False
        w.prefinished = False
        w.ended = w.writable is False
        w.ending = w.writable is False
        w.finished = w.writable is False


def _callback_nt(cb: Callback, err: BaseException | None) -> None:  # node: process.nextTick(cb, err)
    cb(err)


def _install_methods(stream: object, options: Mapping[str, Any], names: tuple[str, ...]) -> None:
    # node: `if (typeof options.write === 'function') this._write = options.write` (and friends).
    # The function is stored as is: Python has no `this`, so it is called with the hook's arguments.
    for name in names:
        fn = options.get(name)
        if callable(fn):
            setattr(stream, "_" + name, fn)


_INVALID_CHUNK_TYPES: Final = ["string", "Buffer", "TypedArray", "DataView"]
_NULL: Final[object] = NULL  # JS null, typed loosely so identity checks against chunks type-check
_ALL: Final = object()  # removeAllListeners() without a name


# ---------------------------------------------------------------------------------------------------
# Readable


class Readable(EventEmitter):  # node: Readable
    """Node's ``stream.Readable`` (byte mode).  Subclasses implement ``_read(size)``."""

    _readableState: ReadableState
    # The runtime the stream's I/O belongs to, when a subclass knows it (Socket sets its handle's):
    # the per-chunk nextTicks then skip the running-loop lookup (a getpid() system call on 3.11).
    _rt: Runtime | None = None

    def __init__(self, options: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        opts = _merge_options(options, kwargs)
        EventEmitter.__init__(self, opts)
        self._readableState = ReadableState(opts, False)
        _install_methods(self, opts, ("read", "destroy"))

    # -- the implementer contract -------------------------------------------------------------------

    def _read(self, size: int) -> None:  # node: Readable.prototype._read
        raise make_error("ERR_METHOD_NOT_IMPLEMENTED", "_read()")

    def _destroy(self, err: BaseException | None, callback: Callback) -> None:  # node: _destroy
        callback(err)

    # -- push / unshift -------------------------------------------------------------------------------

    def push(self, chunk: Chunk | bytearray | memoryview | None, encoding: str | None = None) -> bool:
        # node: Readable.prototype.push / readableAddChunkPushByteMode
        state = self._readableState
        if type(chunk) is bytes and chunk and state.decoder is None:
            # The hot path (a socket's read): the general path below with its type tests folded.
            if state.ended:
                _error_or_destroy(self, make_error("ERR_STREAM_PUSH_AFTER_EOF"))
                return False
            if state.destroyed or state.errored is not None:
                return False
            state.reading = False
            _add_chunk(self, state, chunk, False)
            return not state.ended and (state.length < state.highWaterMark or state.length == 0)
        if chunk is None or chunk is _NULL:
            state.reading = False
            _on_eof_chunk(self, state)
            return False
        if isinstance(chunk, str):
            encoding = encoding or state.defaultEncoding
            if state.encoding != encoding:
                chunk = buffer_from_string(chunk, encoding)
                encoding = None
        elif type(chunk) is bytes:
            encoding = None
        elif isinstance(chunk, (bytes, bytearray, memoryview)):
            chunk = bytes(chunk)
            encoding = None
        else:
            _error_or_destroy(self, make_error("ERR_INVALID_ARG_TYPE", "chunk", _INVALID_CHUNK_TYPES, chunk))
            return False
        if not chunk:
            state.reading = False
            _maybe_read_more(self, state)
            return _can_push_more(state)
        if state.ended:
            _error_or_destroy(self, make_error("ERR_STREAM_PUSH_AFTER_EOF"))
            return False
        if state.destroyed or state.errored is not None:
            return False
        state.reading = False
        if state.decoder is not None and not encoding:
            chunk = state.decoder.write(chunk)
            if not chunk:
                _maybe_read_more(self, state)
                return _can_push_more(state)
        _add_chunk(self, state, chunk, False)
        return _can_push_more(state)

    def unshift(self, chunk: Chunk | bytearray | memoryview | None, encoding: str | None = None) -> bool:
        # node: Readable.prototype.unshift / readableAddChunkUnshiftByteMode
        state = self._readableState
        if chunk is None or chunk is _NULL:
            state.reading = False
            _on_eof_chunk(self, state)
            return False
        if isinstance(chunk, str):
            encoding = encoding or state.defaultEncoding
            if state.encoding != encoding:
                raw = buffer_from_string(chunk, encoding)
                chunk = buffer_to_string(raw, state.encoding) if state.encoding else raw
        elif isinstance(chunk, (bytes, bytearray, memoryview)):
            chunk = bytes(chunk)
        else:
            _error_or_destroy(self, make_error("ERR_INVALID_ARG_TYPE", "chunk", _INVALID_CHUNK_TYPES, chunk))
            return False
        if not chunk:
            return _can_push_more(state)
        if state.endEmitted:
            _error_or_destroy(self, make_error("ERR_STREAM_UNSHIFT_AFTER_END_EVENT"))
        elif state.destroyed or state.errored is not None:
            return False
        else:
            _add_chunk(self, state, chunk, True)
        return _can_push_more(state)

    # -- reading --------------------------------------------------------------------------------------

    def read(self, n: int | float | None = None) -> Chunk | None:  # node: Readable.prototype.read
        state = self._readableState
        # `None` stands for JS NaN: "whatever is there" (one chunk at a time when flowing).
        if n is not None and (type(n) is not int):
            n = _parse_int(n)
        n_orig = n
        if n is not None and n > state.highWaterMark:
            state.highWaterMark = _compute_new_hwm(n)
        if n != 0:
            state.emittedReadable = False
        if (
            n == 0
            and state.needReadable
            and (
                (state.length >= state.highWaterMark if state.highWaterMark != 0 else state.length > 0)
                or state.ended
            )
        ):
            if state.length == 0 and state.ended:
                _end_readable(self)
            else:
                _emit_readable(self)
            return None

        count = _how_much_to_read(n, state)
        if count == 0 and state.ended:
            if state.length == 0:
                _end_readable(self)
            return None

        do_read = state.needReadable
        if state.length == 0 or state.length - count < state.highWaterMark:
            do_read = True
        if (
            state.reading
            or state.ended
            or state.destroyed
            or state.errored is not None
            or not state.constructed
        ):
            do_read = False
        elif do_read:
            state.reading = True
            state.sync = True
            if state.length == 0:
                state.needReadable = True
            try:
                self._read(state.highWaterMark)
            except Exception as err:
                _error_or_destroy(self, err)
            state.sync = False
            if not state.reading:
                count = _how_much_to_read(n_orig, state)

        ret = _from_list(count, state) if count > 0 else None
        if ret is None:
            if state.length <= state.highWaterMark:
                state.needReadable = True
            count = 0
        else:
            state.length -= count
            if state.multiAwaitDrain:
                state.awaitDrainWriters.clear()
            else:
                state.awaitDrainWriters = None

        if state.length == 0:
            if not state.ended:
                state.needReadable = True
            if (n_orig is None or n_orig != count) and state.ended:
                _end_readable(self)

        if ret is not None and not state.errorEmitted and not state.closeEmitted:
            state.dataEmitted = True
            self.emit("data", ret)
        return ret

    def setEncoding(self, encoding: str | None = None) -> Self:  # node: Readable.prototype.setEncoding
        state = self._readableState
        decoder = StringDecoder(encoding)
        state.decoder = decoder
        state.encoding = decoder.encoding
        content = "".join([decoder.write(data) for data in state.buffer])
        if state.ended:
            content += decoder.end()
        if state.buffer:
            state.buffer.clear()
        if content:
            _chunks(state).append(content)
        state.length = _js_len(content)
        return self

    # -- flowing / paused -----------------------------------------------------------------------------

    def isPaused(self) -> bool:  # node: Readable.prototype.isPaused
        state = self._readableState
        return state.paused is True or state.flowing is False

    def pause(self) -> Self:  # node: Readable.prototype.pause
        state = self._readableState
        if state.flowing is not False:
            state.flowing = False
            self.emit("pause")
        state.paused = True
        return self

    def resume(self) -> Self:  # node: Readable.prototype.resume
        state = self._readableState
        if not state.flowing:
            # Flow only if nobody listens for 'readable'; resume() is still scheduled.
            state.flowing = not state.readableListening
            if not state.resumeScheduled:
                state.resumeScheduled = True
                _tick(self, _resume_nt, self, state)
        state.paused = False
        return self

    # -- listeners that change the mode ---------------------------------------------------------------

    def on(self, name: object, listener: Listener) -> Self:  # node: Readable.prototype.on
        EventEmitter.on(self, name, listener)
        state = self._readableState
        if name == "data":
            state.dataListening = True
            if self.listenerCount("readable") > 0:
                state.readableListening = True
            if state.flowing is not False:  # start flowing unless explicitly paused
                self.resume()
        elif name == "readable":
            if not state.endEmitted and not state.readableListening:
                state.readableListening = True
                state.needReadable = True
                state.flowing = False
                state.emittedReadable = False
                if state.length:
                    _emit_readable(self)
                elif not state.reading:
                    _tick(self, _n_reading_nt, self)
        return self

    addListener = on

    def removeListener(
        self, name: object, listener: Listener
    ) -> Self:  # node: Readable.prototype.removeListener
        EventEmitter.removeListener(self, name, listener)
        if name == "readable":
            # After 'readable' was emitted but before I/O: supports once('readable') cycles.
            _tick(self, _update_readable_listening_nt, self)
        elif name == "data" and self.listenerCount("data") == 0:
            self._readableState.dataListening = False
        return self

    off = removeListener

    def removeAllListeners(self, name: object = _ALL) -> Self:  # node: Readable.prototype.removeAllListeners
        if name is _ALL:
            EventEmitter.removeAllListeners(self)
        else:
            EventEmitter.removeAllListeners(self, name)
        if name is _ALL or name == "readable":
            _tick(self, _update_readable_listening_nt, self)
        return self

    # -- pipe -----------------------------------------------------------------------------------------

    def pipe(self, dest: Any, options: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Any:
        # node: Readable.prototype.pipe
        src = self
        state = self._readableState
        opts = dict(options) if options else {}
        opts.update(kwargs)

        if len(state.pipes) == 1 and not state.multiAwaitDrain:
            state.multiAwaitDrain = True
            state.awaitDrainWriters = {state.awaitDrainWriters} if state.awaitDrainWriters else set()
        state.pipes.append(dest)

        do_end = opts.get("end") is not False
        cleaned_up = False
        ondrain: Callable[..., None] | None = None

        def onunpipe(readable: object = None, unpipe_info: Any = None, *_: object) -> None:  # node: onunpipe
            if readable is src and isinstance(unpipe_info, dict) and unpipe_info.get("hasUnpiped") is False:
                unpipe_info["hasUnpiped"] = True
                cleanup()

        def onend(*_: object) -> None:  # node: onend
            dest.end()

        def cleanup() -> None:  # node: cleanup
            nonlocal cleaned_up
            dest.removeListener("close", onclose)
            dest.removeListener("finish", onfinish)
            if ondrain is not None:
                dest.removeListener("drain", ondrain)
            dest.removeListener("error", onerror)
            dest.removeListener("unpipe", onunpipe)
            src.removeListener("end", onend)
            src.removeListener("end", unpipe)
            src.removeListener("data", ondata)
            cleaned_up = True
            # If the reader waits for a 'drain' from this writer it would never flow again.
            dws = _w_state(dest)
            if ondrain is not None and state.awaitDrainWriters and (dws is None or dws.needDrain):
                ondrain()

        def pause() -> None:  # node: pause (inside pipe)
            nonlocal ondrain
            if not cleaned_up:
                if len(state.pipes) == 1 and state.pipes[0] is dest:
                    state.awaitDrainWriters = dest
                    state.multiAwaitDrain = False
                elif len(state.pipes) > 1 and any(p is dest for p in state.pipes):
                    state.awaitDrainWriters.add(dest)
                src.pause()
            if ondrain is None:
                ondrain = _pipe_on_drain(src, dest)
                dest.on("drain", ondrain)

        def ondata(chunk: Chunk) -> None:  # node: ondata
            try:
                ret = dest.write(chunk)
                if ret is False:
                    pause()
            except Exception as error:
                dest.destroy(error)

        def onerror(er: BaseException) -> None:  # node: onerror
            unpipe()
            dest.removeListener("error", onerror)
            if dest.listenerCount("error") == 0:
                s = _w_state(dest) or _r_state(dest)
                if s is not None and not s.errorEmitted:
                    _error_or_destroy(dest, er)
                else:
                    dest.emit("error", er)

        def onclose(*_: object) -> None:  # node: onclose
            dest.removeListener("finish", onfinish)
            unpipe()

        def onfinish(*_: object) -> None:  # node: onfinish
            dest.removeListener("close", onclose)
            unpipe()

        def unpipe(*_: object) -> None:  # node: unpipe
            src.unpipe(dest)

        end_fn = onend if do_end else unpipe
        if state.endEmitted:
            _tick(self, _pipe_end_nt, end_fn)
        else:
            src.once("end", end_fn)
        dest.on("unpipe", onunpipe)
        src.on("data", ondata)
        dest.prependListener("error", onerror)  # ours runs before userland error handlers
        dest.once("close", onclose)
        dest.once("finish", onfinish)
        dest.emit("pipe", src)

        if getattr(dest, "writableNeedDrain", None) is True:
            pause()
        elif not state.flowing:
            src.resume()
        return dest

    def unpipe(self, dest: Any = None) -> Self:  # node: Readable.prototype.unpipe
        state = self._readableState
        if not state.pipes:
            return self
        if dest is None:
            dests = state.pipes
            state.pipes = []
            self.pause()
            for d in dests:
                d.emit("unpipe", self, {"hasUnpiped": False})
            return self
        index = next((i for i, each in enumerate(state.pipes) if each is dest), -1)
        if index == -1:
            return self
        del state.pipes[index]
        if not state.pipes:
            self.pause()
        dest.emit("unpipe", self, {"hasUnpiped": False})
        return self

    # -- destroy --------------------------------------------------------------------------------------

    def destroy(self, error: BaseException | None = None, callback: Callback | None = None) -> Self:
        # node: Readable.prototype.destroy (destroyImpl.destroy)
        _destroy_stream(self, error, callback)
        return self

    def _undestroy(self) -> None:  # node: destroyImpl.undestroy
        _undestroy(self)

    # -- properties -----------------------------------------------------------------------------------

    @property
    def readable(self) -> bool:  # node: Readable.prototype.readable
        r = self._readableState
        return r.readable is not False and not r.destroyed and not r.errorEmitted and not r.endEmitted

    @readable.setter
    def readable(self, value: bool) -> None:
        self._readableState.readable = bool(value)

    @property
    def readableFlowing(self) -> bool | None:  # node: readableFlowing
        return self._readableState.flowing

    @readableFlowing.setter
    def readableFlowing(self, value: bool | None) -> None:
        self._readableState.flowing = None if value is None else bool(value)

    @property
    def readableLength(self) -> int:  # node: readableLength
        return self._readableState.length

    @property
    def readableHighWaterMark(self) -> int:  # node: readableHighWaterMark
        return self._readableState.highWaterMark

    @property
    def readableEnded(self) -> bool:  # node: readableEnded
        return self._readableState.endEmitted

    @property
    def readableEncoding(self) -> str | None:  # node: readableEncoding
        return self._readableState.encoding

    @property
    def readableObjectMode(self) -> bool:  # node: readableObjectMode
        return False

    @property
    def readableDidRead(self) -> bool:  # node: readableDidRead
        return self._readableState.dataEmitted

    @property
    def readableAborted(self) -> bool:  # node: readableAborted
        r = self._readableState
        return r.readable is not False and (r.destroyed or r.errored is not None) and not r.endEmitted

    @property
    def readableBuffer(self) -> list[Chunk]:  # node: readableBuffer
        return list(self._readableState.buffer)

    @property
    def destroyed(self) -> bool:  # node: Readable.prototype.destroyed
        return self._readableState.destroyed

    @destroyed.setter
    def destroyed(self, value: bool) -> None:
        self._readableState.destroyed = bool(value)

    @property
    def closed(self) -> bool:  # node: Readable.prototype.closed
        return self._readableState.closed

    @property
    def errored(self) -> BaseException | None:  # node: Readable.prototype.errored
        return self._readableState.errored


def _parse_int(n: object) -> int | None:  # node: NumberParseInt(n, 10) as read() applies it
    if isinstance(n, bool):
        return None
    if isinstance(n, int):
        return int(n)
    if isinstance(n, float):
        return int(n) if math.isfinite(n) else None
    return None


def _can_push_more(state: ReadableState) -> bool:  # node: canPushMore
    # Below the high-water mark, or nothing buffered at all (highWaterMark 0 still pushes one).
    return not state.ended and (state.length < state.highWaterMark or state.length == 0)


def _add_chunk(
    stream: Readable, state: ReadableState, chunk: Chunk, add_to_front: bool
) -> None:  # node: addChunk
    if state.flowing and state.dataListening and not state.sync and state.length == 0:
        if state.multiAwaitDrain:
            state.awaitDrainWriters.clear()
        else:
            state.awaitDrainWriters = None
        state.dataEmitted = True
        stream.emit("data", chunk)
    else:
        state.length += len(chunk) if type(chunk) is bytes else _js_len(chunk)  # type: ignore[arg-type]
        if add_to_front:
            _chunks(state).appendleft(chunk)
        else:
            _chunks(state).append(chunk)
        if state.needReadable:
            _emit_readable(stream)
    _maybe_read_more(stream, state)


_MAX_HWM: Final = 0x40000000


def _compute_new_hwm(n: int) -> int:  # node: computeNewHighWaterMark
    if n > _MAX_HWM:
        raise make_error("ERR_OUT_OF_RANGE", "size", "<= 1GiB", n)
    # The next power of two, so the mark does not creep up in tiny steps.
    return 1 << (n - 1).bit_length() if n > 1 else n


def _chunk_len(chunk: Chunk) -> int:
    return len(chunk) if type(chunk) is bytes else _js_len(chunk)  # type: ignore[arg-type]


def _how_much_to_read(n: int | None, state: ReadableState) -> int:  # node: howMuchToRead
    if (n is not None and n <= 0) or (state.length == 0 and state.ended):
        return 0
    if n is None:
        # Only flow one buffer at a time.
        if state.flowing and state.length:
            return _chunk_len(state.buffer[0])
        return state.length
    if n <= state.length:
        return n
    return state.length if state.ended else 0


def _from_list(n: int, state: ReadableState) -> Chunk | None:  # node: fromList
    if state.length == 0:
        return None
    buf = state.buffer
    decoding = state.decoder is not None
    if n >= state.length:
        # Read it all, truncate the list.
        if len(buf) == 1:
            ret: Chunk = buf.popleft()
        elif decoding:
            ret = "".join(buf)  # type: ignore[arg-type]
        else:
            ret = b"".join(buf)  # type: ignore[arg-type]
        buf.clear()
        return ret
    first = buf[0]
    first_len = _chunk_len(first)
    if n < first_len:
        if decoding:
            ret, buf[0] = _js_split(first, n)  # type: ignore[arg-type]
        else:
            ret, buf[0] = first[:n], first[n:]
        return ret
    if n == first_len:
        return buf.popleft()
    parts: list[Any] = []
    while buf:
        data = buf[0]
        data_len = _chunk_len(data)
        if n > data_len:
            parts.append(data)
            n -= data_len
            buf.popleft()
        else:
            if n == data_len:
                parts.append(buf.popleft())
            elif decoding:
                head, buf[0] = _js_split(data, n)  # type: ignore[arg-type]
                parts.append(head)
            else:
                parts.append(data[:n])
                buf[0] = data[n:]
            break
    return "".join(parts) if decoding else b"".join(parts)


def _on_eof_chunk(stream: Readable, state: ReadableState) -> None:  # node: onEofChunk
    if state.ended:
        return
    decoder = state.decoder
    if decoder is not None:
        chunk = decoder.end()
        if chunk:
            _chunks(state).append(chunk)
            state.length += _js_len(chunk)
    state.ended = True
    if state.sync:
        # If we are sync, wait until next tick to emit the data, or flow() could run inside read().
        _emit_readable(stream)
    else:
        # Emit 'readable' now to make sure it gets picked up (the ecosystem relies on it being sync).
        state.needReadable = False
        state.emittedReadable = True
        _emit_readable_nt(stream)


def _emit_readable(stream: Readable) -> None:  # node: emitReadable
    state = stream._readableState
    state.needReadable = False
    if not state.emittedReadable:
        state.emittedReadable = True
        _tick(stream, _emit_readable_nt, stream)


def _emit_readable_nt(stream: Readable) -> None:  # node: emitReadable_
    state = stream._readableState
    if not state.destroyed and state.errored is None and (state.length or state.ended):
        stream.emit("readable")
        state.emittedReadable = False
    # Another 'readable' is owed if not flowing (flow takes care then), not ended, below the mark.
    if not state.flowing and not state.ended and state.length <= state.highWaterMark:
        state.needReadable = True
    _flow(stream)


def _maybe_read_more(stream: Readable, state: ReadableState) -> None:  # node: maybeReadMore
    if not state.readingMore and not state.reading and state.constructed:
        state.readingMore = True
        _tick(stream, _maybe_read_more_nt, stream, state)


def _maybe_read_more_nt(stream: Readable, state: ReadableState) -> None:  # node: maybeReadMore_
    # Fill the buffer up to the mark (or keep a flowing stream reading) until _read goes async.
    while (
        not state.reading
        and not state.ended
        and (state.length < state.highWaterMark or (state.flowing and state.length == 0))
    ):
        length = state.length
        read_zero(stream, state)
        if length == state.length:
            break
    state.readingMore = False


def read_zero(stream: Readable, state: ReadableState) -> None:  # node: stream.read(0)
    """``stream.read(0)``; for an empty, idle stream (a socket asking for more) its effect without
    Readable.read's general body: mark reading, call ``_read(highWaterMark)``, settle needReadable."""
    if (
        state.length == 0
        and not state.reading
        and not state.ended
        and state.highWaterMark > 0
        and not state.destroyed
        and state.errored is None
        and state.constructed
        # Readable.read itself, not a subclass's or an instance's (not via __dict__: see Socket.write)
        and getattr(stream.read, "__func__", None) is _readable_read
    ):
        state.reading = True
        state.sync = True
        state.needReadable = True
        try:
            stream._read(state.highWaterMark)
        except Exception as err:
            _error_or_destroy(stream, err)
        state.sync = False
        state.needReadable = state.length <= state.highWaterMark
    else:
        stream.read(0)


def _pipe_on_drain(src: Readable, dest: Any) -> Callable[..., None]:  # node: pipeOnDrain
    def pipe_on_drain(*_: object) -> None:  # node: pipeOnDrainFunctionResult
        state = src._readableState
        if state.awaitDrainWriters is dest:
            state.awaitDrainWriters = None
        elif state.multiAwaitDrain:
            state.awaitDrainWriters.discard(dest)
        if not state.awaitDrainWriters and state.dataListening:
            src.resume()

    return pipe_on_drain


def _pipe_end_nt(end_fn: Callable[[], None]) -> None:  # node: process.nextTick(endFn)
    end_fn()


def _update_readable_listening_nt(stream: Readable) -> None:  # node: updateReadableListening
    state = stream._readableState
    state.readableListening = stream.listenerCount("readable") > 0
    if state.paused is False and state.resumeScheduled:
        # flowing must be true now, or the resume already scheduled will not flow.
        state.flowing = True
    elif state.dataListening:
        stream.resume()
    elif not state.readableListening:
        state.flowing = None


def _n_reading_nt(stream: Readable) -> None:  # node: nReadingNextTick
    stream.read(0)


def _resume_nt(stream: Readable, state: ReadableState) -> None:  # node: resume_
    if not state.reading:
        stream.read(0)
    state.resumeScheduled = False
    stream.emit("resume")
    _flow(stream)
    if state.flowing and not state.reading:
        stream.read(0)


def _flow(stream: Readable) -> None:  # node: flow
    state = stream._readableState
    while state.flowing and stream.read() is not None:
        pass


def _end_readable(stream: Readable) -> None:  # node: endReadable
    state = stream._readableState
    if not state.endEmitted and not state.endScheduled:
        state.ended = True
        state.endScheduled = True
        _tick(stream, _end_readable_nt, state, stream)


def _end_readable_nt(state: ReadableState, stream: Any) -> None:  # node: endReadableNT
    state.endScheduled = False
    # Check that we didn't get one last unshift.
    if state.errored is None and not state.closeEmitted and not state.endEmitted and state.length == 0:
        state.endEmitted = True
        stream.emit("end")
        if getattr(stream, "writable", False) and getattr(stream, "allowHalfOpen", None) is False:
            _tick(stream, _end_writable_nt, stream)
        elif state.autoDestroy:
            # A Duplex waits for its writable side too (unless that side was disabled).
            w = _w_state(stream)
            if w is None or (w.autoDestroy and (w.finished or w.writable is False)):
                stream.destroy()


def _end_writable_nt(stream: Any) -> None:  # node: endWritableNT
    if stream.writable and not stream.writableEnded and not stream.destroyed:
        stream.end()


# ---------------------------------------------------------------------------------------------------
# Writable


_readable_read: Final = Readable.read


class Writable(EventEmitter):  # node: Writable
    """Node's ``stream.Writable`` (byte mode).  Subclasses implement ``_write`` and/or ``_writev``."""

    _writableState: WritableState
    _rt: Runtime | None = None  # as Readable._rt
    # Optional hooks, looked up like Node's `typeof stream._final === 'function'`.
    _writev: Callable[[WriteRequests, Callback], object] | None = None
    _final: Callable[[Callback], object] | None = None

    def __init__(self, options: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        opts = _merge_options(options, kwargs)
        EventEmitter.__init__(self, opts)
        self._writableState = WritableState(opts, self, False)
        _install_methods(self, opts, ("write", "writev", "destroy", "final"))

    # -- the implementer contract -------------------------------------------------------------------

    def _write(
        self, chunk: Chunk, encoding: str, callback: Callback
    ) -> None:  # node: Writable.prototype._write
        if self._writev is not None:
            self._writev(WriteRequests([WriteRequest(chunk, encoding, None)], encoding == "buffer"), callback)
        else:
            raise make_error("ERR_METHOD_NOT_IMPLEMENTED", "_write()")

    def _destroy(self, err: BaseException | None, callback: Callback) -> None:  # node: _destroy
        callback(err)

    # -- writing --------------------------------------------------------------------------------------

    def write(
        self,
        chunk: Chunk | bytearray | memoryview | None = None,
        encoding: str | Callback | None = None,
        callback: Callback | None = None,
    ) -> bool:  # node: Writable.prototype.write
        if encoding is not None and callable(encoding):
            callback = encoding
            encoding = None
        if encoding is None and type(chunk) is bytes:
            # The hot path: _write's validation cannot fail for a bytes chunk without an encoding,
            # and writeOrBuffer's direct branch is inlined (keep it in step with _write_or_buffer).
            state = self._writableState
            if not state.ending and not state.destroyed:
                if callback is not None and not callable(callback):
                    callback = None
                state.pendingcb += 1
                if state.writing or state.corked or state.errored is not None:
                    return _write_or_buffer(self, state, chunk, "buffer", callback)
                length = len(chunk)
                state.length += length
                state.writelen = length
                state.writecb = callback
                state.writing = True
                state.sync = True
                self._write(chunk, "buffer", state.onwrite)
                state.sync = False
                total = state.length
                if total < state.highWaterMark or total == 0:
                    return not state.destroyed and state.errored is None
                state.needDrain = True
                return False
        return _write_chunk(self, chunk, encoding, callback) is True

    def cork(self) -> None:  # node: Writable.prototype.cork
        self._writableState.corked += 1

    def uncork(self) -> None:  # node: Writable.prototype.uncork
        state = self._writableState
        if state.corked:
            state.corked -= 1
            if not state.writing:
                _clear_buffer(self, state)

    def setDefaultEncoding(self, encoding: str) -> Self:  # node: Writable.prototype.setDefaultEncoding
        if isinstance(encoding, str):
            encoding = encoding.lower()
        if not isEncoding(encoding):
            raise make_error("ERR_UNKNOWN_ENCODING", encoding)
        self._writableState.defaultEncoding = encoding
        return self

    def end(
        self,
        chunk: Chunk | bytearray | memoryview | Callback | None = None,
        encoding: str | Callback | None = None,
        callback: Callback | None = None,
    ) -> Self:  # node: Writable.prototype.end
        state = self._writableState
        if callable(chunk):
            callback = chunk
            chunk = None
            encoding = None
        elif callable(encoding):
            callback = encoding
            encoding = None
        err: BaseException | None = None
        if chunk is not None and chunk is not _NULL:
            ret = _write_chunk(self, chunk, encoding, None)
            if isinstance(ret, BaseException):
                err = ret
        # end() fully uncorks.
        if state.corked:
            state.corked = 1
            self.uncork()
        if err is not None:
            pass
        elif not state.ending and state.errored is None:
            # Forgiving about needless end() calls: a hard error would be disproportionate.
            state.ending = True
            _finish_maybe(self, state, True)
            state.ended = True
        elif state.finished:
            err = make_error("ERR_STREAM_ALREADY_FINISHED", "end")
        elif state.destroyed:
            err = make_error("ERR_STREAM_DESTROYED", "end")
        if callback is not None and callable(callback):
            if err is not None:
                _tick(self, _callback_nt, callback, err)
            elif state.errored is not None:
                _tick(self, _callback_nt, callback, state.errored)
            elif state.finished:
                _tick(self, _callback_nt, callback, None)
            else:
                if state.onFinished is None:
                    state.onFinished = []
                state.onFinished.append(callback)
        return self

    def pipe(self, *args: Any, **kwargs: Any) -> Any:  # node: Writable.prototype.pipe
        _error_or_destroy(self, make_error("ERR_STREAM_CANNOT_PIPE"))

    # -- destroy --------------------------------------------------------------------------------------

    def destroy(self, error: BaseException | None = None, callback: Callback | None = None) -> Self:
        # node: Writable.prototype.destroy
        state = self._writableState
        if (state.buffered or state.onFinished) and not state.destroyed:
            _tick(self, _error_buffer_nt, state)  # invoke pending callbacks
        _destroy_stream(self, error, callback)
        return self

    def _undestroy(self) -> None:  # node: destroyImpl.undestroy
        _undestroy(self)

    # -- properties -----------------------------------------------------------------------------------

    @property
    def writable(self) -> bool:  # node: Writable.prototype.writable
        w = self._writableState
        return (
            w.writable is not False and not w.ending and not w.ended and not w.destroyed and w.errored is None
        )

    @writable.setter
    def writable(self, value: bool) -> None:
        self._writableState.writable = bool(value)

    @property
    def writableHighWaterMark(self) -> int:  # node: writableHighWaterMark
        return self._writableState.highWaterMark

    @property
    def writableLength(self) -> int:  # node: writableLength
        return self._writableState.length

    @property
    def writableEnded(self) -> bool:  # node: writableEnded
        return self._writableState.ending

    @property
    def writableFinished(self) -> bool:  # node: writableFinished
        return self._writableState.finished

    @property
    def writableNeedDrain(self) -> bool:  # node: writableNeedDrain
        w = self._writableState
        return w.needDrain and not w.destroyed and not w.ending

    @property
    def writableCorked(self) -> int:  # node: writableCorked
        return self._writableState.corked

    @property
    def writableObjectMode(self) -> bool:  # node: writableObjectMode
        return False

    @property
    def writableBuffer(self) -> list[WriteRequest]:  # node: writableBuffer
        return self._writableState.getBuffer()

    @property
    def writableAborted(self) -> bool:  # node: writableAborted
        w = self._writableState
        return w.writable is not False and (w.destroyed or w.errored is not None) and not w.finished

    @property
    def destroyed(self) -> bool:  # node: Writable.prototype.destroyed
        return self._writableState.destroyed

    @destroyed.setter
    def destroyed(self, value: bool) -> None:
        self._writableState.destroyed = bool(value)

    @property
    def closed(self) -> bool:  # node: Writable.prototype.closed
        return self._writableState.closed

    @property
    def errored(self) -> BaseException | None:  # node: Writable.prototype.errored
        return self._writableState.errored


def _write_chunk(
    stream: Writable, chunk: object, encoding: str | None, cb: Callback | None
) -> bool | BaseException:  # node: _write (writable.js)
    state = stream._writableState
    if cb is not None and not callable(cb):
        cb = None
    if chunk is _NULL:
        raise make_error("ERR_STREAM_NULL_VALUES")
    if chunk is None:  # JS undefined (a missing chunk): Node's type check rejects it
        raise make_error("ERR_INVALID_ARG_TYPE", "chunk", _INVALID_CHUNK_TYPES, chunk)
    if encoding:
        if encoding != "buffer" and not isEncoding(encoding):
            raise make_error("ERR_UNKNOWN_ENCODING", encoding)
    else:
        encoding = state.defaultEncoding
    if type(chunk) is bytes:
        encoding = "buffer"
    elif isinstance(chunk, str):
        if encoding == "buffer":
            raise make_error("ERR_UNKNOWN_ENCODING", encoding)
        if state.decodeStrings:
            chunk = buffer_from_string(chunk, encoding)
            encoding = "buffer"
    elif isinstance(chunk, (bytes, bytearray, memoryview)):
        # A copy at write time: the caller may reuse its buffer (Node would send what is there later).
        chunk = bytes(chunk)
        encoding = "buffer"
    else:
        raise make_error("ERR_INVALID_ARG_TYPE", "chunk", _INVALID_CHUNK_TYPES, chunk)

    err: NodeError | None = None
    if state.ending:
        err = make_error("ERR_STREAM_WRITE_AFTER_END")
    elif state.destroyed:
        err = make_error("ERR_STREAM_DESTROYED", "write")
    if err is not None:
        if cb is not None:
            _tick(stream, _callback_nt, cb, err)
        _error_or_destroy(stream, err, True)
        return err
    state.pendingcb += 1
    return _write_or_buffer(stream, state, chunk, encoding, cb)


def _write_or_buffer(
    stream: Writable, state: WritableState, chunk: Chunk, encoding: str, callback: Callback | None
) -> bool:  # node: writeOrBuffer
    length = len(chunk) if isinstance(chunk, bytes) else _js_len(chunk)
    state.length += length
    # (`constructed` is always true here: uvnet has no _construct.)
    if state.writing or state.corked or state.errored is not None:
        state.buffered.append(WriteRequest(chunk, encoding, callback))
        if encoding != "buffer":
            state.allBuffers = False
        if callback is not None:
            state.allNoop = False
    else:
        state.writelen = length
        state.writecb = callback
        state.writing = True
        state.sync = True
        stream._write(chunk, encoding, state.onwrite)
        state.sync = False
    ret = state.length < state.highWaterMark or state.length == 0
    if not ret:
        state.needDrain = True
    # False if errored or destroyed, to break synchronous `while (stream.write(data))` loops.
    return ret and not state.destroyed and state.errored is None


def _do_write(
    stream: Writable,
    state: WritableState,
    writev: bool,
    length: int,
    chunk: Any,
    encoding: str,
    cb: Callback | None,
) -> None:  # node: doWrite
    state.writelen = length
    state.writecb = cb
    state.writing = True
    state.sync = True
    if state.destroyed:
        state.onwrite(make_error("ERR_STREAM_DESTROYED", "write"))
    elif writev:
        stream._writev(chunk, state.onwrite)  # type: ignore[misc]
    else:
        stream._write(chunk, encoding, state.onwrite)
    state.sync = False


def _onwrite_error_nt(
    stream: Writable, state: WritableState, er: BaseException, cb: Callback | None
) -> None:  # node: onwriteError
    state.pendingcb -= 1
    if cb is not None:
        cb(er)
    # Callbacks of buffered writes run even without autoDestroy; `er` belongs to this write only.
    _error_buffer(state)
    # This can emit 'error', which must always follow the callback.
    _error_or_destroy(stream, er)


def _onwrite(stream: Writable, er: BaseException | None = None) -> None:  # node: onwrite
    state = stream._writableState
    if not state.writing:  # node: !(kExpectWriteCb)
        _error_or_destroy(stream, make_error("ERR_MULTIPLE_CALLBACK"))
        return
    sync = state.sync
    cb = state.writecb
    state.writecb = None
    state.writing = False
    state.length -= state.writelen

    if er is None and sync and cb is None and not state.needDrain and not state.buffered:
        # The hot path (a synchronous sink, no callback, no 'drain' owed): the branch of the general
        # code below that neither ticks nor clears the buffer.
        state.pendingcb -= 1
        if state.ending:
            _finish_maybe(stream, state, True)
        return
    if er is not None:
        if state.errored is None:
            state.errored = er
        # A Duplex's readable side learns about the error too.
        r = _r_state(stream)
        if r is not None and r.errored is None:
            r.errored = er
        if sync:
            _tick(stream, _onwrite_error_nt, stream, state, er, cb)
        else:
            _onwrite_error_nt(stream, state, er, cb)
        return

    if state.buffered:
        _clear_buffer(stream, state)

    if sync:
        need_drain = state.needDrain and state.length == 0
        # Node's `state & kDestroyed !== 0` term is `state & true`, i.e. never set in byte mode.
        need_tick = need_drain or cb is not None
        if cb is None:
            if not state.afterWritePending and need_tick:
                _tick(stream, _after_write_nt, stream, state, 1, None)
                state.afterWritePending = True
            else:
                state.pendingcb -= 1
                if state.ending:
                    _finish_maybe(stream, state, True)
        elif (info := state.afterWriteTickInfo) is not None and info.cb is cb:
            # The same callback again (the common case): count it instead of another tick.
            info.count += 1
        elif need_tick:
            info = state.afterWriteTickInfo = _AfterWriteTickInfo(stream, state, cb)
            _tick(stream, _after_write_tick_nt, info)
            state.afterWritePending = True
        else:  # pragma: no cover - need_tick is true whenever cb is set
            state.pendingcb -= 1
            if state.ending:
                _finish_maybe(stream, state, True)
    else:
        _after_write(stream, state, 1, cb)


def _after_write_tick_nt(info: _AfterWriteTickInfo) -> None:  # node: afterWriteTick
    state = info.state
    state.afterWriteTickInfo = None
    _after_write(info.stream, state, info.count, info.cb)


def _after_write(stream: Writable, state: WritableState, count: int, cb: Callback | None) -> None:
    # node: afterWrite
    state.afterWritePending = False
    if state.needDrain and not state.ending and not state.destroyed and state.length == 0:
        state.needDrain = False
        stream.emit("drain")
    while count > 0:
        count -= 1
        state.pendingcb -= 1
        if cb is not None:
            cb(None)
    if state.destroyed:
        _error_buffer(state)
    if state.ending:
        _finish_maybe(stream, state, True)


_after_write_nt = _after_write  # the same function, when Node defers it with process.nextTick


def _error_buffer(state: WritableState) -> None:  # node: errorBuffer
    if state.writing:
        return
    buffered = state.buffered
    for index in range(state.bufferedIndex, len(buffered)):
        req = buffered[index]
        if req is None:  # pragma: no cover - consumed entries lie before bufferedIndex
            continue
        state.length -= _req_len(req)
        if req.callback is not None:
            errored = state.errored
            req.callback(errored if errored is not None else make_error("ERR_STREAM_DESTROYED", "write"))
    if state.onFinished:
        errored = state.errored
        _call_finished_callbacks(
            state, errored if errored is not None else make_error("ERR_STREAM_DESTROYED", "end")
        )
    _reset_buffer(state)


_error_buffer_nt = _error_buffer  # Writable.destroy defers it


def _req_len(req: WriteRequest) -> int:
    chunk = req.chunk
    return len(chunk) if isinstance(chunk, bytes) else _js_len(chunk)


def _clear_buffer(stream: Writable, state: WritableState) -> None:  # node: clearBuffer
    if (
        state.destroyed
        or state.bufferProcessing
        or state.corked
        or not state.buffered
        or not state.constructed
    ):
        return
    buffered = state.buffered
    i = state.bufferedIndex
    pending = len(buffered) - i
    if not pending:
        return
    state.bufferProcessing = True
    if pending > 1 and stream._writev:
        state.pendingcb -= pending - 1
        chunks = WriteRequests([req for req in buffered[i:] if req is not None], state.allBuffers)
        callback: Callback | None = None
        if not state.allNoop:

            def callback(err: BaseException | None = None) -> None:  # node: the writev callback
                for req in chunks:
                    if req.callback is not None:
                        req.callback(err)

        _do_write(stream, state, True, state.length, chunks, "", callback)
        _reset_buffer(state)
    else:
        while True:
            req = buffered[i]
            buffered[i] = None
            i += 1
            assert req is not None
            _do_write(stream, state, False, _req_len(req), req.chunk, req.encoding, req.callback)
            if i >= len(buffered) or state.writing:
                break
        if i == len(buffered):
            _reset_buffer(state)
        elif i > 256:
            del buffered[:i]
            state.bufferedIndex = 0
        else:
            state.bufferedIndex = i
    state.bufferProcessing = False


def _need_finish(state: WritableState) -> bool:  # node: needFinish
    return (
        state.ending
        and state.length == 0
        and state.constructed
        and not state.destroyed
        and not state.finished
        and not state.writing
        and not state.errorEmitted
        and not state.closeEmitted
        and state.errored is None
        and not state.buffered
    )


def _on_finish(stream: Writable, state: WritableState, err: BaseException | None = None) -> None:
    # node: onFinish (the _final callback)
    if state.prefinished:
        _error_or_destroy(stream, err if err is not None else make_error("ERR_MULTIPLE_CALLBACK"))
        return
    state.pendingcb -= 1
    if err is not None:
        _call_finished_callbacks(state, err)
        _error_or_destroy(stream, err, state.sync)
    elif _need_finish(state):
        state.prefinished = True
        stream.emit("prefinish")
        # Backwards compat: 'finish' is asynchronous relative to _final's callback, always.
        state.pendingcb += 1
        _tick(stream, _finish_nt, stream, state)


def _prefinish(stream: Writable, state: WritableState) -> None:  # node: prefinish
    if state.prefinished or state.finalCalled:
        return
    final = stream._final
    if final is not None and not state.destroyed:
        state.finalCalled = True
        state.sync = True
        state.pendingcb += 1
        try:
            final(partial(_on_finish, stream, state))
        except Exception as err:
            _on_finish(stream, state, err)
        state.sync = False
    else:
        state.finalCalled = True
        state.prefinished = True
        stream.emit("prefinish")


def _finish_maybe(stream: Writable, state: WritableState, sync: bool) -> None:  # node: finishMaybe
    if _need_finish(state):
        _prefinish(stream, state)
        if state.pendingcb == 0:
            if sync:
                state.pendingcb += 1
                _tick(stream, _finish_maybe_nt, stream, state)
            elif _need_finish(state):
                state.pendingcb += 1
                _finish(stream, state)


def _finish_maybe_nt(stream: Writable, state: WritableState) -> None:  # node: finishMaybe's tick
    if _need_finish(state):
        _finish(stream, state)
    else:
        state.pendingcb -= 1


def _finish(stream: Any, state: WritableState) -> None:  # node: finish
    state.pendingcb -= 1
    state.finished = True
    _call_finished_callbacks(state, None)
    stream.emit("finish")
    if state.autoDestroy:
        # A Duplex waits for its readable side too (unless that side was disabled).
        r = _r_state(stream)
        if r is None or (r.autoDestroy and (r.endEmitted or r.readable is False)):
            stream.destroy()


_finish_nt = _finish  # onFinish defers it


def _call_finished_callbacks(state: WritableState, err: BaseException | None) -> None:
    # node: callFinishedCallbacks
    callbacks = state.onFinished
    if not callbacks:
        return
    state.onFinished = None
    for cb in callbacks:
        cb(err)


# ---------------------------------------------------------------------------------------------------
# Duplex


class Duplex(Readable, Writable):  # node: Duplex
    """Node's ``stream.Duplex``: a Readable that is also a Writable, with ``allowHalfOpen``."""

    allowHalfOpen: bool

    def __init__(self, options: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        opts = _merge_options(options, kwargs)
        EventEmitter.__init__(self, opts)
        self._readableState = ReadableState(opts, True)
        self._writableState = WritableState(opts, self, True)
        self.allowHalfOpen = opts.get("allowHalfOpen") is not False
        if opts.get("readable") is False:
            r = self._readableState
            r.readable = False
            r.ended = True
            r.endEmitted = True
        if opts.get("writable") is False:
            w = self._writableState
            w.writable = False
            w.ending = True
            w.ended = True
            w.finished = True
        _install_methods(self, opts, ("read", "write", "writev", "destroy", "final"))

    # Duplex uses Writable's destroy (it settles pending write callbacks).
    destroy = Writable.destroy
    pipe = Readable.pipe

    @property
    def destroyed(self) -> bool:  # node: Duplex.prototype.destroyed
        return self._readableState.destroyed and self._writableState.destroyed

    @destroyed.setter
    def destroyed(self, value: bool) -> None:
        self._readableState.destroyed = bool(value)
        self._writableState.destroyed = bool(value)
