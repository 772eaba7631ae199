"""The groups of ``config.yaml`` that are not the paper's: ``unstated`` (settings the paper does not state, each our
choice, with a comment saying so) and ``smoke`` (the values of the smoke run).

The planning prompt asks for both: the paper's values stay apart from the ones we had to choose, so a reader (and
the judge) can tell them apart, and the code reads the choices by the same keys as everything else. The check here
is on the text, since a comment is not part of the parsed YAML: a setting of ``unstated`` without a comment on its
line is reported (``config`` kind: reported, not a problem). Static, nothing run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

UNSTATED = "unstated"
SMOKE = "smoke"
_COMMENT = re.compile(r"(?:^|\s)#\s*(.*)$")


@dataclass(frozen=True)
class Setting:
    """One leaf of a group: its dotted key, line (1-based), value as written, and the comment on its line."""

    key: str
    line: int
    value: str
    comment: str


def _leaves(node: yaml.Node, prefix: str) -> list[tuple[str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        found: list[tuple[str, yaml.Node]] = []
        for key, value in node.value:
            found.extend(_leaves(value, f"{prefix}.{key.value}"))
        return found
    return [(prefix, node)]


def group_settings(text: str, group: str) -> list[Setting] | None:
    """The leaves of the top-level ``group`` of the YAML ``text``; None when the text has no such group (or does not
    parse, which the syntax check reports)."""
    try:
        root = yaml.compose(text)
    except (yaml.YAMLError, RecursionError):
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    node = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == group), None)
    if node is None:
        return None
    lines = text.splitlines()
    settings = []
    for key, leaf in _leaves(node, group):
        row = leaf.start_mark.line
        # A leaf's comment is on its own line, or on the key's line when the value starts on the next one.
        candidates = [lines[row]] if row < len(lines) else []
        match = next((m for m in (_COMMENT.search(c.split(":", 1)[-1]) for c in candidates) if m), None)
        value = leaf.value if isinstance(leaf, yaml.ScalarNode) else "(a list)"
        settings.append(Setting(key, row + 1, str(value), match.group(1).strip() if match else ""))
    return settings


def group_findings(text: str) -> list[tuple[int, str]]:
    """(line, message) for each setting of ``unstated`` that carries no comment saying why it was chosen."""
    found = []
    for setting in group_settings(text, UNSTATED) or []:
        if not setting.comment:
            found.append(
                (
                    setting.line,
                    f"config.yaml sets {setting.key} (a value the paper does not state) without a comment; add "
                    "`# our choice: <why>` on its line",
                )
            )
    return found


def elsewhere(config: dict[str, object], keys: tuple[str, ...]) -> str | None:
    """Where a key read but absent from its place lives in a group of ours: ``unstated.seed`` for a read of
    ``training.seed`` or ``seed`` when ``unstated`` has a ``seed`` (flat or under the same group); else None."""
    for group in (UNSTATED, SMOKE):
        node = config.get(group)
        if not isinstance(node, dict) or not keys:
            continue
        for tail in (keys, keys[1:], keys[-1:]):
            current: object = node
            for key in tail:
                current = current.get(key) if isinstance(current, dict) else None
                if current is None:
                    break
            if tail and current is not None:
                return ".".join((group, *tail))
    return None
