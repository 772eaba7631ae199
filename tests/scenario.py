"""A scripted Paper2Code conversation for the loopback fake server (a test double of a capable model).

It answers each step by the ``X-Papercoder-Step`` header the client sends, in the messy formats real models use:
planning JSON in a fence with "File list"-style keys, the logic design between [CONTENT] markers with trailing commas,
code in fences with and without language tags.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from urllib.parse import unquote

from tests.fakes.openai_server import RecordedRequest, Reply

FILES = ["utils.py", "model.py", "main.py"]

CODE = {
    "utils.py": "import yaml\n\n\ndef load_config(path: str) -> dict:\n    with open(path) as fh:\n"
    "        return yaml.safe_load(fh)\n",
    "model.py": "from utils import load_config\n\n\nclass PrototypeNet:\n    def __init__(self, cfg: dict) -> None:\n"
    "        self.hidden = cfg['model']['hidden_width']\n",
    "main.py": "from model import PrototypeNet\nfrom utils import load_config\n\n\ndef main() -> None:\n"
    "    net = PrototypeNet(load_config('config.yaml'))\n    print(net.hidden)\n\n\nif __name__ == '__main__':\n"
    "    main()\n",
}

ARCHITECTURE = {
    "Implementation approach": "A small numpy implementation with a YAML config.",
    "File list": ["utils.py", "model.py", "main.py"],
    "Data structures and interfaces": "classDiagram\n    class PrototypeNet {\n        +int hidden\n    }",
    "Program call flow": "sequenceDiagram\n    participant M as Main\n    participant N as PrototypeNet\n"
    "    M->>N: __init__(cfg)",
    "Anything UNCLEAR": "Nothing.",
}

LOGIC_TEXT = """[CONTENT]
{
    "Required packages": ["numpy>=1.24", "pyyaml>=6",],
    "Logic Analysis": [
        ["utils.py", "Loads config.yaml."],
        ["model.py", "PrototypeNet; imports load_config from utils."],
        ["main.py", "Entry point; imports model and utils."],
    ],
    "Task list": ["utils.py", "model.py", "main.py"],
    "Shared Knowledge": "config keys live under model.",  # a comment models like to add
    "Anything UNCLEAR": "",
}
[/CONTENT]"""

REPRODUCE = (
    '```bash\n#!/usr/bin/env bash\nset -euo pipefail\ncd "$(dirname "$0")"\n'
    'if [ "${1:-}" = "--smoke" ]; then export PAPERCODER_SMOKE=1; fi\n'
    "python3 -m venv .venv\n. .venv/bin/activate\npip install -r requirements.txt\npython main.py\n```\n"
)
NO_EDITS = "I found nothing to change."

CONFIG = "model:\n  hidden_width: 64\n  embedding_width: 16\ntraining:\n  learning_rate: 0.01\n  epochs: 30\n"


@dataclass
class Paper2CodeScript:
    """Responder for ``FakeOpenAIServer``: answers by step and counts what it was asked."""

    files: list[str] = field(default_factory=lambda: list(FILES))
    code: dict[str, str] = field(default_factory=lambda: dict(CODE))
    architecture: dict[str, object] = field(default_factory=lambda: dict(ARCHITECTURE))
    logic_text: str = LOGIC_TEXT
    # Answers by step, checked first: the repair, reproduce.sh and debug steps a test scripts.
    replies: dict[str, str] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, step: str) -> str:
        if step in self.replies:
            return self.replies[step]
        if step == "repo/reproduce":
            return "Here it is:\n" + REPRODUCE
        if step.startswith(("repair/", "debug/")):
            return NO_EDITS
        if step == "planning/plan":
            return "## Plan\n1. Encoder MLP (64 hidden, 16 embedding).\n2. Prototypes.\n3. Train 30 epochs.\n"
        if step == "planning/architecture":
            return "Here is the design:\n```json\n" + json.dumps(self.architecture, indent=2) + "\n```\n"
        if step == "planning/logic":
            return self.logic_text
        if step == "planning/config":
            return "```yaml\n" + CONFIG + "```\n"
        if step.startswith("analysis/"):
            return f"## Analysis of {step.split('/', 1)[1]}\nImplements its part of the plan."
        if step.startswith("coding/"):
            path = step.split("/", 1)[1]
            tag = "python" if path != "main.py" else ""  # one answer without a language tag
            return f"Here is `{path}`:\n```{tag}\n{self.code[path]}```\n"
        raise AssertionError(f"unexpected step {step!r}")

    def __call__(self, request: RecordedRequest) -> Reply:
        step = unquote(request.headers.get("x-papercoder-step", ""))  # non-ASCII file names come percent-encoded
        with self._lock:
            self.steps.append(step)
        return Reply(content=self.answer(step))


def many_files_script(count: int) -> Paper2CodeScript:
    """A scenario with ``count`` modules (mod00.py … chained imports) and main.py: more calls, same shapes."""
    files = [f"mod{i:02d}.py" for i in range(count)] + ["main.py"]
    code = {
        path: (f"from mod{i - 1:02d} import f{i - 1}\n\n\n" if i else "") + f"def f{i}() -> int:\n    return {i}\n"
        for i, path in enumerate(files[:-1])
    }
    code["main.py"] = f"from mod{count - 1:02d} import f{count - 1}\n\nprint(f{count - 1}())\n"
    architecture = dict(ARCHITECTURE, **{"File list": files})
    logic = {
        "Required packages": ["pyyaml>=6"],
        "Logic Analysis": [[path, f"Defines its function; imports the previous module ({path})."] for path in files],
        "Task list": files,
        "Shared Knowledge": "",
        "Anything UNCLEAR": "",
    }
    return Paper2CodeScript(
        files=files, code=code, architecture=architecture, logic_text="```json\n" + json.dumps(logic) + "\n```"
    )


# A repository with three planted bugs, one found per run: a wrong import (ImportError), a config key config.yaml
# lacks (KeyError), a name never defined (NameError). Standard library only, so any python runs it.
BUGGY_CODE = {
    "utils.py": "import json\n\n\ndef load_config(path: str) -> dict:\n    with open(path) as fh:\n"
    "        return json.load(fh)\n",
    "model.py": "from utils import load_config\n\n\nclass PrototypeNet:\n    def __init__(self, cfg: dict) -> None:\n"
    '        self.hidden = cfg["model"]["hidden_width"]\n        self.temperature = cfg["model"]["temperature"]\n\n'
    '    def describe(self) -> str:\n        return f"hidden={self.hidden} t={self.temperature}"\n',
    "main.py": "from model import PrototypeNet\nfrom utils import load_configuration\n\n\ndef main() -> None:\n"
    '    net = PrototypeNet(load_configuration("config.yaml"))\n    print(net.describe())\n'
    '    print("epochs", epochs)\n\n\nif __name__ == "__main__":\n    main()\n',
}
BUGGY_CONFIG = '{\n  "model": {"hidden_width": 64},\n  "training": {"epochs": 3}\n}\n'
BUGGY_LOGIC = LOGIC_TEXT.replace('"Required packages": ["numpy>=1.24", "pyyaml>=6",]', '"Required packages": []')

# The fixes, as a model writes them: prose, fences, a decorated path line, CRLF line endings, indentation drift.
FIX_IMPORT = (
    "The name is `load_config`, not `load_configuration`.\n\n**main.py**\n```python\n<<<<<<< SEARCH\n"
    "from utils import load_configuration\n=======\nfrom utils import load_config\n>>>>>>> REPLACE\n"
    '<<<<<<< SEARCH\n    net = PrototypeNet(load_configuration("config.yaml"))\n=======\n'
    '    net = PrototypeNet(load_config("config.yaml"))\n>>>>>>> REPLACE\n```\n'
)
FIX_CONFIG = (
    "config.yaml has no model.temperature; the paper uses 0.5.\r\n\r\n```\r\nconfig.yaml\r\n<<<<<<< SEARCH\r\n"
    '  "model": {"hidden_width": 64},\r\n=======\r\n  "model": {"hidden_width": 64, "temperature": 0.5},\r\n'
    ">>>>>>> REPLACE\r\n```\r\n"
)
FIX_NAME = (
    '### main.py\n```python\n<<<<<<< SEARCH\nprint(net.describe())\nprint("epochs", epochs)\n=======\n'
    'print(net.describe())\nepochs = load_config("config.yaml")["training"]["epochs"]\nprint("epochs", epochs)\n'
    ">>>>>>> REPLACE\n```\n"
)
FIXED_CODE = {
    "utils.py": BUGGY_CODE["utils.py"],
    "model.py": BUGGY_CODE["model.py"],
    "main.py": "from model import PrototypeNet\nfrom utils import load_config\n\n\ndef main() -> None:\n"
    '    net = PrototypeNet(load_config("config.yaml"))\n    print(net.describe())\n'
    '    epochs = load_config("config.yaml")["training"]["epochs"]\n    print("epochs", epochs)\n\n\n'
    'if __name__ == "__main__":\n    main()\n',
}
FIXED_CONFIG = '{\n  "model": {"hidden_width": 64, "temperature": 0.5},\n  "training": {"epochs": 3}\n}\n'


def buggy_script(replies: dict[str, str] | None = None) -> Paper2CodeScript:
    """The scenario writing the buggy repository; ``replies`` script the repair, reproduce and debug steps."""
    return Paper2CodeScript(
        code=dict(BUGGY_CODE),
        logic_text=BUGGY_LOGIC,
        replies={"planning/config": "```yaml\n" + BUGGY_CONFIG + "```\n", **(replies or {})},
    )
