"""The public surface of uvnet against the names in @types/node's net.d.ts.

A function or class that net.d.ts declares, or a member of one of its classes, that uvnet lacks is a red
test here, not a surprise for a user porting Node code.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

import uvnet
from conformance.sections import spec_dir

# Declared members that are not part of what uvnet mirrors, each with the reason.
NOT_APPLICABLE = {
    # A TypeScript constructor signature, not a member: Python's is __init__.
    "*": {"constructor"},
    # Deprecated since Node 0.9 and absent from Node 24 at run time ('connections' in server is false).
    "Server": {"connections"},
}


def _net_dts() -> str:
    path = spec_dir() / "net.d.ts"
    if not path.exists():
        pytest.fail(f"the spec is missing: {path} (../shared/spec beside the checkout)")
    return path.read_text(encoding="utf-8")


@cache
def declared_functions() -> list[str]:
    return sorted(set(re.findall(r"^    function (\w+)\(", _net_dts(), re.M)))


@cache
def declared_classes() -> dict[str, list[str]]:
    """class name -> the members its body declares (methods, properties, static members)."""
    text = _net_dts()
    classes: dict[str, list[str]] = {}
    for m in re.finditer(r"^    class (\w+)[^{]*\{\n(.*?)^    \}", text, re.M | re.S):
        members = re.findall(r"^        (?:static |readonly |get |set )*(\w+)\??[(:<]", m.group(2), re.M)
        skip = NOT_APPLICABLE["*"] | NOT_APPLICABLE.get(m.group(1), set())
        classes[m.group(1)] = sorted(set(members) - skip)
    return classes


def test_the_spec_is_parsed() -> None:
    assert "createServer" in declared_functions()
    assert {"Socket", "Server", "BlockList", "SocketAddress"} <= set(declared_classes())
    assert "setNoDelay" in declared_classes()["Socket"]


@pytest.mark.parametrize("name", declared_functions())
def test_module_function_exists(name: str) -> None:
    assert callable(getattr(uvnet, name, None)), f"uvnet.{name} is declared in net.d.ts but missing"
    assert name in uvnet.__all__


@pytest.mark.parametrize("name", sorted(declared_classes()))
def test_class_exists(name: str) -> None:
    assert isinstance(getattr(uvnet, name, None), type), f"uvnet.{name} is declared in net.d.ts but missing"
    assert name in uvnet.__all__


@pytest.mark.parametrize(
    ("cls", "member"), [(c, m) for c, members in sorted(declared_classes().items()) for m in members]
)
def test_class_member_exists(cls: str, member: str) -> None:
    klass = getattr(uvnet, cls, None)
    assert klass is not None, f"uvnet.{cls} is missing"
    assert hasattr(klass, member), f"uvnet.{cls}.{member} is declared in net.d.ts but missing"


def test_all_lists_only_real_names() -> None:
    for name in uvnet.__all__:
        assert hasattr(uvnet, name), name
