"""Requirements that cannot install on the Python in use: a pin of a 2021 torch on Python 3.11 has no wheel.

Offline, from a small table of facts about the big ML packages: for each Python minor version, the first release
with wheels for it (``supported_from``) and the first release that no longer supports it (``dropped_at``). A
requirement whose specifier admits no release inside that window is a ``requirements`` finding on
``requirements.txt`` (``papercoder.repo.checks``) with a suggested range; the repair round gets it with the file.
A package or a Python the table does not know is never flagged: a guess would send the model after a problem that
is not there.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


@dataclass(frozen=True)
class PythonSupport:
    """One package's facts: Python minor → first release with wheels for it, and → first release without."""

    supported_from: dict[int, str]
    dropped_at: dict[int, str]
    releases: tuple[str, ...]  # the minor releases, to test a specifier against


def _minors(major: int, first: int, last: int) -> tuple[str, ...]:
    return tuple(f"{major}.{m}" for m in range(first, last + 1))


# Python 3.x → version. From the packages' release notes and the Python versions of their wheels.
TABLE: dict[str, PythonSupport] = {
    "torch": PythonSupport(
        {8: "1.4", 9: "1.7.1", 10: "1.11", 11: "2.0", 12: "2.2", 13: "2.5"},
        {6: "1.11", 7: "2.0", 8: "2.5"},
        _minors(1, 0, 13) + _minors(2, 0, 9),
    ),
    "torchvision": PythonSupport(
        {8: "0.5", 9: "0.8.2", 10: "0.12", 11: "0.15", 12: "0.17", 13: "0.20"},
        {6: "0.12", 7: "0.15", 8: "0.20"},
        _minors(0, 1, 24),
    ),
    "tensorflow": PythonSupport(
        {8: "2.2", 9: "2.5", 10: "2.8", 11: "2.12", 12: "2.16", 13: "2.20"},
        {6: "2.7", 7: "2.12", 8: "2.14"},
        _minors(1, 0, 15) + _minors(2, 0, 20),
    ),
    "numpy": PythonSupport(
        {8: "1.17.3", 9: "1.19.3", 10: "1.21.3", 11: "1.23.2", 12: "1.26.0", 13: "2.1.0"},
        {6: "1.20", 7: "1.22", 8: "1.25", 9: "2.1", 10: "2.3"},
        _minors(1, 10, 26) + _minors(2, 0, 3),
    ),
    "scipy": PythonSupport(
        {8: "1.3.2", 9: "1.5.4", 10: "1.7.2", 11: "1.9.2", 12: "1.11.2", 13: "1.14.1"},
        {6: "1.6", 7: "1.8", 8: "1.11", 9: "1.14", 10: "1.16"},
        _minors(1, 0, 16),
    ),
    "pandas": PythonSupport(
        {8: "0.25.3", 9: "1.1.5", 10: "1.3.4", 11: "1.5.0", 12: "2.1.1", 13: "2.2.3"},
        {6: "1.2", 7: "1.4", 8: "2.1", 9: "2.3"},
        _minors(0, 20, 25) + _minors(1, 0, 5) + _minors(2, 0, 3),
    ),
    "scikit-learn": PythonSupport(
        {8: "0.22", 9: "0.24", 10: "1.0.1", 11: "1.1.3", 12: "1.3.1", 13: "1.5.2"},
        {6: "1.0", 7: "1.1", 8: "1.4", 9: "1.7"},
        _minors(0, 18, 24) + _minors(1, 0, 7),
    ),
}
TABLE["pytorch"] = TABLE["torch"]


def supported_window(package: str, minor: int) -> tuple[Version, Version | None] | None:
    """The releases of ``package`` that install on Python 3.``minor``: ``[first, end)`` (``end`` None: no known
    end), or None when the table does not know the package or that Python."""
    facts = TABLE.get(canonicalize_name(package))
    if facts is None:
        return None
    known = sorted(facts.supported_from)
    if minor > known[-1]:
        return None  # a Python newer than the table: unknown, not unsupported
    first = facts.supported_from.get(minor, "0") if minor >= known[0] else "0"
    end = facts.dropped_at.get(minor)
    return Version(first), Version(end) if end else None


def _admits(requirement: Requirement, facts: PythonSupport, low: Version, end: Version | None) -> bool:
    """Whether the specifier admits a release in ``[low, end)``: tried on the window's start, the table's releases
    and every version the specifier names."""
    candidates = {low, *(Version(r) for r in facts.releases)}
    for spec in requirement.specifier:
        try:
            candidates.add(Version(spec.version.removesuffix(".*")))
        except InvalidVersion:
            continue
    return any(
        low <= v and (end is None or v < end) and requirement.specifier.contains(v, prereleases=True)
        for v in candidates
    )


def _suggestion(name: str, low: Version, end: Version | None) -> str:
    floor = f">={low}" if low > Version("0") else ""
    ceiling = f"<{end}" if end is not None else ""
    return name + ",".join(p for p in (floor, ceiling) if p)


def install_problems(requirements: str, python: tuple[int, int] | None = None) -> list[tuple[int, str]]:
    """``(line, message)`` for each line of ``requirements`` (a requirements.txt) that cannot install on ``python``
    (``(3, 11)``; default: the interpreter running papercoder), the message naming a range that can."""
    major, minor = python or (sys.version_info.major, sys.version_info.minor)
    if major != 3:
        return []
    found = []
    for number, line in enumerate(requirements.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        try:
            requirement = Requirement(entry)
        except InvalidRequirement:
            continue
        environment = {"python_version": f"{major}.{minor}", "python_full_version": f"{major}.{minor}.0"}
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue  # not installed on this Python at all
        window = supported_window(requirement.name, minor)
        facts = TABLE.get(canonicalize_name(requirement.name))
        if window is None or facts is None or not str(requirement.specifier):
            continue
        low, end = window
        if _admits(requirement, facts, low, end):
            continue
        if low > Version("0"):
            span = f"from {low}" + (f" until before {end}" if end is not None else " on")
        else:
            span = f"only before {end}"
        message = (
            f"`{entry}` cannot install on Python {major}.{minor}: {requirement.name} supports that Python {span}; "
            f"use `{_suggestion(requirement.name, low, end)}`"
        )
        found.append((number, message))
    return found
