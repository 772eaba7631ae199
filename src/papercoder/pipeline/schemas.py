"""The structured planning artifacts, validated with pydantic, and the JSON schemas asked of the model."""

from __future__ import annotations

import copy
import json
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, Field, field_validator

from papercoder.parsing.json_extract import normalize_keys


def _text(value: object) -> object:
    """Models sometimes answer a list of lines where a paragraph is asked for: join them."""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else value


class FileInterface(BaseModel):
    """The public interface the design gives one file: typed signatures, the contract the other files code against."""

    file: str
    signatures: list[str] = Field(
        default_factory=list,
        description="Each public class and function of the file with typed parameters and return type, e.g. "
        "'class Trainer(model: Model, cfg: dict)', 'Trainer.train(self) -> dict[str, float]'.",
    )

    @field_validator("signatures", mode="before")
    @classmethod
    def _lines(cls, value: object) -> object:
        if isinstance(value, str):
            return [line.strip() for line in value.splitlines() if line.strip()]
        if isinstance(value, dict):  # {"name": "signature"} maps
            return [str(v) for v in value.values()]
        return value


def _per_file(value: object, item: str, keys: dict[str, list[str]]) -> object:
    """``{file: x}`` maps and ``[file, x]`` pairs as ``[{"file": file, item: x}]``; objects with spelled-out keys."""
    if isinstance(value, dict):
        return [{"file": k, item: v} for k, v in value.items()]
    if isinstance(value, list):
        out: list[object] = []
        for entry in value:
            if isinstance(entry, list | tuple) and len(entry) >= 2:
                out.append({"file": str(entry[0]), item: entry[1] if len(entry) == 2 else list(entry[1:])})
            elif isinstance(entry, dict):
                out.append(normalize_keys(entry, keys))
            else:
                out.append(entry)
        return out
    return value


class ArchitectureDesign(BaseModel):
    """Turn 2 of planning: what to build."""

    implementation_approach: str = Field(description="How the system will be built, key libraries, main difficulties.")
    file_list: list[str] = Field(description="Every source file of the repository, relative paths, main.py included.")
    class_diagram: str = Field(description="A mermaid classDiagram of the classes, their fields and methods.")
    sequence_diagram: str = Field(description="A mermaid sequenceDiagram of the program flow from main.py.")
    unclear_points: str = Field(default="", description="What the paper leaves unclear, and the choice made.")
    # Optional so that answers from before it was asked for (and compact runs, which do not ask) still parse.
    interfaces: list[FileInterface] = Field(
        default_factory=list,
        description="For each file: the typed signatures of its public classes, methods and functions.",
    )

    ALIASES: ClassVar[dict[str, list[str]]] = {
        "implementation_approach": ["approach"],
        "file_list": ["files"],
        "class_diagram": ["data structures and interfaces", "data_structures_and_interfaces", "classes"],
        "sequence_diagram": ["program call flow", "program_call_flow", "call flow"],
        "unclear_points": ["anything unclear", "anything_unclear", "unclear"],
        "interfaces": ["public_interfaces", "public_api", "signatures", "interfaces_by_file"],
    }
    #: Fields a compact (small local model) run neither asks for nor puts in its JSON schema.
    COMPACT_OMIT: ClassVar[tuple[str, ...]] = ("interfaces",)

    @field_validator("implementation_approach", "class_diagram", "sequence_diagram", "unclear_points", mode="before")
    @classmethod
    def _join(cls, value: object) -> object:
        return _text(value)

    @field_validator("interfaces", mode="before")
    @classmethod
    def _files(cls, value: object) -> object:
        return _per_file(value, "signatures", {"file": ["filename", "path", "name"], "signatures": ["api", "methods"]})

    def signatures_for(self, path: str) -> list[str]:
        """The design's signatures for ``path`` (none when the design gives none)."""
        for entry in self.interfaces:
            if entry.file.strip().lstrip("./") == path:
                return entry.signatures
        return []


class SmokePlan(BaseModel):
    """How the smoke run (``PAPERCODER_SMOKE=1``) is made short, decided once in planning."""

    files: list[str] = Field(
        default_factory=list,
        description="The files that read the smoke switch: those that load data, train or evaluate.",
    )
    shrinks: str = Field(
        default="",
        description="What smoke mode shrinks and to what (samples, steps, epochs, evaluation size), and the "
        "synthetic stand-in used when the dataset is not available.",
    )

    @field_validator("shrinks", mode="before")
    @classmethod
    def _join(cls, value: object) -> object:
        return _text(value)


class FileLogic(BaseModel):
    """What one file must do, from the logic design."""

    file: str
    logic: str

    @field_validator("logic", mode="before")
    @classmethod
    def _join(cls, value: object) -> object:
        return _text(value)


class LogicDesign(BaseModel):
    """Turn 3 of planning: how to build it, and in which order."""

    required_packages: list[str] = Field(description="Third-party Python packages with versions, e.g. 'torch>=2.0'.")
    logic_analysis: list[FileLogic] = Field(
        description="For each file: the classes/functions it holds, what they "
        "do, and what they import from the other files."
    )
    task_list: list[str] = Field(
        description="Every file of the file list, ordered so a file comes after the files it imports."
    )
    shared_knowledge: str = Field(default="", description="Conventions and values several files share.")
    unclear_points: str = Field(default="", description="What the paper leaves unclear, and the choice made.")
    smoke_mode: SmokePlan = Field(default_factory=SmokePlan, description="How the smoke run is made short.")

    ALIASES: ClassVar[dict[str, list[str]]] = {
        "required_packages": ["required python packages", "packages", "requirements"],
        "logic_analysis": ["logic", "file_logic"],
        "task_list": ["tasks", "ordered_files"],
        "shared_knowledge": ["shared"],
        "unclear_points": ["anything unclear", "anything_unclear", "unclear"],
        "smoke_mode": ["smoke", "smoke_plan"],
    }
    COMPACT_OMIT: ClassVar[tuple[str, ...]] = ("smoke_mode",)

    @field_validator("smoke_mode", mode="before")
    @classmethod
    def _smoke(cls, value: object) -> object:
        if isinstance(value, str):
            return {"shrinks": value}
        return {} if value is None else value

    @field_validator("shared_knowledge", "unclear_points", mode="before")
    @classmethod
    def _join(cls, value: object) -> object:
        return _text(value)

    @field_validator("logic_analysis", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        """Accept the original project's ``[["file.py", "what it does"], ...]`` pairs and ``{file: logic}`` maps."""
        if isinstance(value, dict):
            return [{"file": k, "logic": v} for k, v in value.items()]
        if isinstance(value, list):
            out: list[object] = []
            for item in value:
                if isinstance(item, list | tuple) and len(item) >= 2:
                    out.append({"file": str(item[0]), "logic": "\n".join(str(x) for x in item[1:])})
                elif isinstance(item, dict):
                    out.append(
                        normalize_keys(
                            item,
                            {"file": ["filename", "path", "name"], "logic": ["description", "analysis", "details"]},
                        )
                    )
                else:
                    out.append(item)
            return out
        return value


M = TypeVar("M", bound=BaseModel)


def parse_planning_json(data: object, model: type[M]) -> M:
    """Validate decoded JSON against ``model`` after mapping key spellings and aliases onto its fields."""
    if isinstance(data, dict):
        aliases: dict[str, list[str]] = getattr(model, "ALIASES", {})
        fields = {name: list(aliases.get(name, [])) for name in model.model_fields}
        data = normalize_keys(data, fields)
    return model.model_validate(data)


def json_schema(
    model: type[BaseModel],
    *,
    max_items: int | None = None,
    max_length: int | None = None,
    file_pattern: str | None = None,
    file_enum: list[str] | None = None,
    omit: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The JSON schema of ``model`` for ``response_format``.

    The bounds are for small local models: grammar-constrained decoding then has to close every string and list
    within the answer's token limit, instead of rambling until it is cut off mid-JSON. ``file_enum`` (the logic
    design, once the architecture named the files) makes every file name one of those: a small model otherwise
    invents new ones, or repeats a JSON key as a file name.
    """
    schema = copy.deepcopy(model.model_json_schema())
    for name in omit:
        schema.get("properties", {}).pop(name, None)
    if omit and "$defs" in schema:  # definitions only the omitted fields used
        used = json.dumps(schema.get("properties", {}))
        schema["$defs"] = {k: v for k, v in schema["$defs"].items() if f"/$defs/{k}" in used}
        if not schema["$defs"]:
            del schema["$defs"]
    for definition in [schema, *schema.get("$defs", {}).values()]:
        definition.pop("title", None)
        for name, prop in definition.get("properties", {}).items():
            prop.pop("title", None)
            prop.pop("default", None)
            if prop.get("type") == "string" and file_enum and name == "file":
                prop["enum"] = list(file_enum)
            elif prop.get("type") == "string" and max_length:
                prop["maxLength"] = max_length
            if prop.get("type") == "array":
                if max_items:
                    prop["maxItems"] = max_items
                    prop["minItems"] = 1
                items = prop.get("items", {})
                if items.get("type") == "string":
                    if file_enum and name in ("file_list", "task_list"):
                        items["enum"] = list(file_enum)
                    elif file_pattern and name in ("file_list", "task_list"):
                        items["pattern"] = file_pattern
                    elif max_length:
                        items["maxLength"] = min(max_length, 80)
        definition["required"] = list(definition.get("properties", {}))
        definition["additionalProperties"] = False
    return schema
