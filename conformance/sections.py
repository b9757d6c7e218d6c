"""The sections of the seed document (Node's net docs), which scenarios cite in their `spec:` list.

A heading in the seed text is a line followed (after blank lines) by a version marker such as
`新增于: v15.0.0`, `加入于: ...` or `[历史]`. Scenario tags are checked against this list so that the
coverage table of the spec cannot drift from the document.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

_API = re.compile(
    r"^(new )?(net|server|socket|blockList|BlockList|SocketAddress|socketaddress)\.[A-Za-z0-9]+(\(.*\))?$"
)
_CLASS = re.compile(r"^类\s*[:\uff1a]\s*(net\.[A-Za-z]+)$")
_EVENT = re.compile(r"^(?:事件|Event)\s*[:\uff1a]\s*'([A-Za-z]+)'$")


def spec_dir() -> Path:
    override = os.environ.get("UVNET_SPEC_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "spec"


def seed_document() -> Path:
    return spec_dir() / "000_514baff093dadb39.txt"


@cache
def sections() -> tuple[str, ...]:
    """Section titles in document order: API signatures, classes, and events as `Event: 'x' (net.Class)`."""
    path = seed_document()
    if not path.exists():
        return ()
    found: list[str] = ["IPC"]
    current_class = "net"
    previous_blank = True
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        heading = previous_blank and ";" not in line and "{" not in line and len(line) < 90
        previous_blank = not line
        if not heading:
            continue
        if m := _CLASS.match(line):
            current_class = m.group(1)
            found.append(f"class {current_class}")
        elif m := _EVENT.match(line):
            found.append(f"Event: '{m.group(1)}' ({current_class})")
        elif _API.match(line) and "=" not in line:
            found.append(line)
    return tuple(dict.fromkeys(found))
