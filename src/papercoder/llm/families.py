"""What each model family accepts and wants, in one table, applied before the first call.

A request a family rejects costs a failed call and a retry (and some servers answer a 200 that silently ignores the
parameter); guidance a family's authors give (DeepSeek-R1: no system prompt, temperature 0.6) is not an error at all,
so only a table read up front can follow it. Matching is on the model name, with or without a provider prefix
(``openai/o3-mini``, ``deepseek/deepseek-r1``, ``deepseek-ai/DeepSeek-R1-Distill-Qwen-32B``).

A model the table does not know is treated as a chat model; ``--reasoning-model`` marks one as reasoning (it then
gets ``reasoning_effort`` and no temperature, like the o-series).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The effort every stage and the judge ask of a reasoning model unless ``--reasoning-effort`` says otherwise: what
#: the Paper2Code authors ran o3-mini at, for generation and for judging.
DEFAULT_EFFORT = "high"


@dataclass(frozen=True)
class Family:
    """One family of models and how to talk to it.

    Attributes:
        name: A short label, recorded in the manifest.
        pattern: Matched (search, case-insensitive) against the model name.
        reasoning: It thinks before answering: sampling settings are fixed by the provider.
        effort: It takes ``reasoning_effort`` (OpenAI's o-series and gpt-5; not DeepSeek-R1 or o1-mini).
        system_role: It accepts a system message; when not, the system text opens the first user turn.
        temperature: The temperature to send when the user gives none (None: send none), and whether a user's
            temperature is sent at all (``drop_temperature``: the API rejects anything but its default).
        why: The source of the rule, for whoever edits the table.
    """

    name: str
    pattern: str
    reasoning: bool = False
    effort: bool = False
    system_role: bool = True
    temperature: float | None = None
    drop_temperature: bool = False
    why: str = ""


# First match wins, so the narrow rows come before the broad ones.
FAMILIES: tuple[Family, ...] = (
    Family(
        "deepseek-r1",
        r"deepseek[-_ ]?r1|deepseek-reasoner",
        reasoning=True,
        system_role=False,
        temperature=0.6,
        why="DeepSeek-R1's usage recommendations: no system prompt, all instructions in the user turn; "
        "temperature 0.5-0.7, 0.6 recommended",
    ),
    Family(
        "o1-early",
        r"(?:^|/)o1-(?:mini|preview)\b",
        reasoning=True,
        system_role=False,
        drop_temperature=True,
        why="o1-mini and o1-preview reject the system role, reasoning_effort and any temperature but 1",
    ),
    Family(
        "gpt-5-chat",
        r"(?:^|/)gpt-5(?:\.\d+)?-chat",
        why="the chat variant of gpt-5 is not a reasoning model and takes the usual sampling settings",
    ),
    Family(
        "openai-reasoning",
        r"(?:^|/)(?:o\d(?:-mini|-pro)?|gpt-5(?:\.\d+)?(?:-mini|-nano|-pro|-codex)?)(?:-\d{4}-\d{2}-\d{2}|-high|-low)?$",
        reasoning=True,
        effort=True,
        drop_temperature=True,
        why="OpenAI's o-series and gpt-5 reasoning models take reasoning_effort and reject temperature",
    ),
    Family(
        "qwq",
        r"(?:^|/)qwq\b|qwen3.*thinking",
        reasoning=True,
        temperature=0.6,
        why="Qwen's thinking models: sampling at temperature 0.6 recommended, greedy decoding discouraged",
    ),
)

CHAT = Family("chat", "", why="a model the table does not know: the OpenAI chat defaults")
MARKED = Family(
    "marked-reasoning",
    "",
    reasoning=True,
    effort=True,
    drop_temperature=True,
    why="--reasoning-model: the user says this model reasons and takes reasoning_effort",
)


def family_of(model: str, *, marked_reasoning: bool = False) -> Family:
    """The family of the model named ``model``; ``marked_reasoning`` (``--reasoning-model``) turns an unknown or
    chat model into a reasoning one that takes ``reasoning_effort``."""
    for family in FAMILIES:
        if re.search(family.pattern, model, re.IGNORECASE):
            if marked_reasoning and not family.effort and family.system_role:
                return MARKED
            return family
    return MARKED if marked_reasoning else CHAT


@dataclass(frozen=True)
class Sampling:
    """The sampling settings a call sends, after the family's rules; ``notes`` say what was changed and why."""

    reasoning_effort: str | None
    temperature: float | None
    notes: tuple[str, ...] = ()


def sampling_for(
    model: str, reasoning_effort: str | None, temperature: float | None, *, marked_reasoning: bool = False
) -> Sampling:
    """The reasoning effort and temperature to send to ``model``, given what the user asked (None: not asked).

    A reasoning model that takes an effort gets ``DEFAULT_EFFORT`` unless one is given; a model that takes none
    gets none (a note says so when one was asked). A temperature the family rejects is dropped (with a note); the
    family's recommended temperature is used when the user gives none.
    """
    family = family_of(model, marked_reasoning=marked_reasoning)
    notes: list[str] = []
    effort = reasoning_effort
    if family.effort:
        effort = effort or DEFAULT_EFFORT
    elif effort:
        notes.append(f"{model} takes no reasoning effort ({family.why}); --reasoning-effort {effort} not sent")
        effort = None
    if temperature is not None and family.drop_temperature:
        notes.append(f"{model} takes no temperature ({family.why}); --temperature {temperature:g} not sent")
        temperature = None
    elif temperature is None:
        temperature = family.temperature
    return Sampling(effort, temperature, tuple(notes))


def takes_system_role(model: str) -> bool:
    """Whether ``model`` may be sent a system message (else it is folded into the first user turn up front)."""
    return family_of(model).system_role
