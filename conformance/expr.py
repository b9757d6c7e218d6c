"""The scenario expression language: a tokenizer and a recursive-descent parser.

Expressions look like JavaScript (`srv.listen(0, "127.0.0.1", cb("l"))`) and compile to the JSON trees
described in docs/scenarios.md, which both interpreters evaluate. Parsing happens once, here, so the two
interpreters never disagree about what a scenario says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

BUILTINS = frozenset({"cb", "buf", "hex", "pattern", "path", "str", "alloc", "noop", "controller", "lookup"})

Node = list[Any]


class ScenarioSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, ident, punct, end
    text: str
    pos: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<punct>[.,()\[\]{}:-])
    """,
    re.VERBOSE,
)


def tokenize(src: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN_RE.match(src, pos)
        if m is None:
            raise ScenarioSyntaxError(f"unexpected character {src[pos]!r} at {pos} in {src!r}")
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", len(src)))
    return tokens


def _decode_string(text: str) -> str:
    body = text[1:-1]
    if text[0] == "'":
        body = body.replace("\\'", "'").replace('"', '\\"')
    # \0 is a JS escape JSON lacks; abstract socket names need it.
    body = re.sub(r"(?<!\\)((?:\\\\)*)\\0", lambda m: m.group(1) + "\\u0000", body)
    try:
        value = json.loads('"' + body + '"')
    except json.JSONDecodeError as exc:
        raise ScenarioSyntaxError(f"bad string literal {text}: {exc}") from None
    assert isinstance(value, str)
    return value


def _number(text: str) -> int | float:
    if text.lower().startswith("0x"):
        return int(text, 16)
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.tokens = tokenize(src)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        tok = self.next()
        if tok.text != text or tok.kind not in ("punct", "ident"):
            raise ScenarioSyntaxError(f"expected {text!r} at {tok.pos} in {self.src!r}, got {tok.text!r}")
        return tok

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok.kind == "punct" and tok.text == text

    def parse(self) -> Node:
        node = self.expression()
        if self.peek().kind != "end":
            tok = self.peek()
            raise ScenarioSyntaxError(f"unexpected {tok.text!r} at {tok.pos} in {self.src!r}")
        return node

    def expression(self) -> Node:
        return self.postfix(self.primary())

    def args(self, close: str) -> list[Node]:
        items: list[Node] = []
        while not self.at(close):
            items.append(self.expression())
            if not self.at(close):
                self.expect(",")
        self.expect(close)
        return items

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at("."):
                self.next()
                name = self.next()
                if name.kind != "ident":
                    raise ScenarioSyntaxError(f"expected a property name at {name.pos} in {self.src!r}")
                node = ["get", node, name.text]
            elif self.at("["):
                self.next()
                key = self.expression()
                self.expect("]")
                if key[0] != "lit" or not isinstance(key[1], (str, int)):
                    raise ScenarioSyntaxError(f"an index must be a string or integer literal in {self.src!r}")
                node = ["get", node, key[1]]
            elif self.at("("):
                self.next()
                node = ["call", node, self.args(")")]
            else:
                return node

    def primary(self) -> Node:
        tok = self.next()
        if tok.kind == "num":
            return ["lit", _number(tok.text)]
        if tok.kind == "str":
            return ["lit", _decode_string(tok.text)]
        if tok.kind == "punct":
            if tok.text == "-":
                inner = self.next()
                if inner.kind == "num":
                    value = _number(inner.text)
                    return ["lit", -value if value != 0 else -0.0]
                if inner.text == "Infinity":
                    return ["num", "-Infinity"]
                raise ScenarioSyntaxError(f"'-' applies to number literals only, in {self.src!r}")
            if tok.text == "[":
                return ["arr", self.args("]")]
            if tok.text == "{":
                return self.object_literal()
            if tok.text == "(":
                node = self.expression()
                self.expect(")")
                return node
            raise ScenarioSyntaxError(f"unexpected {tok.text!r} at {tok.pos} in {self.src!r}")
        if tok.kind == "ident":
            word = tok.text
            constants: dict[str, Node] = {
                "true": ["lit", True],
                "false": ["lit", False],
                "null": ["lit", None],
                "undefined": ["undef"],
                "NaN": ["num", "NaN"],
                "Infinity": ["num", "Infinity"],
            }
            if word in constants:
                return constants[word]
            if word == "new":
                callee = self.primary()
                while self.at("."):
                    self.next()
                    callee = ["get", callee, self.next().text]
                self.expect("(")
                return ["new", callee, self.args(")")]
            if word in BUILTINS and self.at("("):
                self.next()
                return ["builtin", word, self.args(")")]
            return ["ref", word]
        raise ScenarioSyntaxError(f"unexpected end of expression {self.src!r}")

    def object_literal(self) -> Node:
        pairs: list[list[Any]] = []
        while not self.at("}"):
            key = self.next()
            if key.kind == "ident":
                name = key.text
            elif key.kind == "str":
                name = _decode_string(key.text)
            elif key.kind == "num":
                name = key.text
            else:
                raise ScenarioSyntaxError(f"bad object key {key.text!r} in {self.src!r}")
            self.expect(":")
            pairs.append([name, self.expression()])
            if not self.at("}"):
                self.expect(",")
        self.expect("}")
        return ["obj", pairs]


def parse_expression(src: str) -> Node:
    """Compile one expression to its JSON tree."""
    return _Parser(src).parse()


def refs(node: Node) -> set[str]:
    """Every name an expression reads."""
    found: set[str] = set()

    def walk(n: Node) -> None:
        kind = n[0]
        if kind == "ref":
            found.add(n[1])
        elif kind == "get":
            walk(n[1])
        elif kind in ("call", "new"):
            walk(n[1])
            for arg in n[2]:
                walk(arg)
        elif kind in ("arr", "builtin"):
            for item in n[-1]:
                walk(item)
        elif kind == "obj":
            for _key, value in n[1]:
                walk(value)

    walk(node)
    return found
