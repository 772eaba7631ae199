"""requirements.txt: requirement specifiers only, and the third-party imports it misses added without a model call.

The logic design's "Required packages" come from the model. pip reads a requirements file as instructions, so an
entry such as ``--extra-index-url=http://…``, ``-r /etc/passwd``, ``git+https://…`` or ``./local`` would change
where packages come from or read local files when ``reproduce.sh`` installs them. Only PEP 508 specifiers by name
(``numpy>=1.24``, ``torch[cuda]; python_version >= "3.10"``) are kept; everything else is dropped and reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from papercoder.repo.checks import IMPORT_TO_PACKAGES, missing_requirements, normalise_package
from papercoder.repo.findings import Finding

# Well-known imports whose distribution has the same name: one missing from requirements.txt is added as it is.
# Any other import stays a finding, since its distribution may be named otherwise (``cv2`` is opencv-python) and a
# wrong guess installs somebody else's package.
SAME_NAME = frozenset(
    {
        "numpy", "scipy", "pandas", "matplotlib", "seaborn", "tqdm", "requests", "transformers", "datasets",
        "tokenizers", "safetensors", "networkx", "sympy", "h5py", "einops", "wandb", "tensorboard", "torchvision",
        "torchaudio", "torchtext", "tensorflow", "keras", "flax", "optax", "numba", "nltk", "spacy", "gensim",
        "timm", "sentencepiece", "xgboost", "lightgbm", "catboost", "statsmodels", "joblib", "rich", "click",
        "pydantic", "psutil", "tabulate", "omegaconf", "gymnasium", "mujoco", "opt_einsum", "tiktoken",
        "openai", "anthropic", "peft", "trl", "bitsandbytes", "evaluate", "plotly", "imageio", "librosa",
        "soundfile", "jsonlines", "pyarrow", "polars", "dill", "cloudpickle", "termcolor", "colorama", "regex",
        "ftfy", "editdistance", "rouge_score", "sacrebleu", "ml_collections", "chex",
    }
)  # fmt: skip
# Well-known imports whose distribution is named otherwise and that the checks' table does not list.
RENAMED = {"hydra": "hydra-core", "absl": "absl-py"}
# Imports the table maps to a distribution that is only one of many possible ones (``google`` is a namespace).
UNCERTAIN = frozenset({"google"})
_ARCHIVE = re.compile(r"\.(?:whl|zip|tar|tar\.gz|tgz|tar\.bz2|egg)$", re.IGNORECASE)


@dataclass(frozen=True)
class Rejected:
    """An entry left out of requirements.txt and why."""

    entry: str
    reason: str

    def finding(self) -> Finding:
        message = f"left `{self.entry}` out of requirements.txt: {self.reason}"
        return Finding("requirements", "requirements.txt", None, message)


def _reason(entry: str) -> str | None:
    """Why ``entry`` is no requirement specifier by name, or None when it is one."""
    if entry.startswith("-"):
        return "a pip option, not a requirement (options can change where packages come from)"
    if "://" in entry or re.match(r"^(?:git|hg|svn|bzr)\+|^file:", entry):
        return "a URL, not a requirement by name"
    if entry.startswith((".", "/", "~")) or "\\" in entry or _ARCHIVE.search(entry.split(";")[0].strip()):
        return "a local path, not a requirement by name"
    try:
        requirement = Requirement(entry)
    except InvalidRequirement:
        return "not a requirement specifier (PEP 508)"
    if requirement.url:
        return "a direct URL reference, not a requirement by name"
    if normalise_package(requirement.name) == "python":
        return "the Python version, not a package"
    return None


def _unquote(entry: str) -> str:
    """``numpy`` from ```numpy```, ``'numpy'``; a quote that only ends a marker (``"3.10"``) stays."""
    while len(entry) >= 2 and entry[0] == entry[-1] and entry[0] in "`'\"":
        entry = entry[1:-1].strip()
    return entry


def sanitise(entries: Iterable[str]) -> tuple[list[str], list[Rejected]]:
    """The requirement specifiers among ``entries`` (each stripped of quotes, backticks and ``#`` comments; one per
    line; duplicates dropped) and the entries left out, with the reason."""
    kept: list[str] = []
    rejected: list[Rejected] = []
    for raw in entries:
        for part in raw.splitlines() or [raw]:
            entry = re.split(r"(?:^|\s)#", part, maxsplit=1)[0].strip()  # a comment, as pip reads one
            entry = _unquote(entry)
            if not entry:
                continue
            reason = _reason(entry)
            if reason is None:
                kept.append(entry)
            else:
                rejected.append(Rejected(entry, reason))
    return list(dict.fromkeys(kept)), list(dict.fromkeys(rejected))


def certain_distribution(import_name: str) -> str | None:
    """The distribution that certainly provides the top-level module ``import_name``, or None when unsure."""
    if import_name in UNCERTAIN:
        return None
    if import_name in IMPORT_TO_PACKAGES:
        return IMPORT_TO_PACKAGES[import_name][0]
    if import_name in RENAMED:
        return RENAMED[import_name]
    return normalise_package(import_name) if import_name in SAME_NAME else None


@dataclass(frozen=True)
class MechanicalFix:
    """A finding fixed without a model call, and what was done."""

    finding: Finding
    fix: str

    def to_dict(self) -> dict[str, object]:
        return {"finding": self.finding.to_dict(), "fix": self.fix}


def add_missing(repo: Path) -> list[MechanicalFix]:
    """Add to ``repo/requirements.txt`` the distribution of each third-party import it misses, where that
    distribution is certain (:func:`certain_distribution`); the others stay findings."""
    fixes: list[MechanicalFix] = []
    added: list[str] = []
    for name, finding in missing_requirements(repo):
        dist = certain_distribution(name)
        if dist is None:
            continue
        added.append(dist)
        fixes.append(MechanicalFix(finding, f"added {dist} to requirements.txt"))
    if added:
        path = repo / "requirements.txt"
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        path.write_text(text + "".join(f"{d}\n" for d in dict.fromkeys(added)), encoding="utf-8")
    return fixes
