"""The pure parser that splits a one-shot answer into repository files."""

from __future__ import annotations

from papercoder.parsing.filesplit import split_files

ANSWER = """Here is the repository.

### File: main.py
```python
from model import Net

print(Net())
```

File: `pkg/model.py`
Some words the model added before the code.
```
class Net:
    pass
```

**config.yaml**
```yaml
lr: 0.01
```

### File: README.md
````markdown
# Usage
```bash
python main.py
```
Done.
````

```python
print("a block with no name")
```

### File: ../escape.py
```python
import os
```

### File: /etc/passwd
```
root
```

```python scripts/run.sh
python main.py
```
"""


def test_split_files_reads_every_header_style() -> None:
    split = split_files(ANSWER)
    assert list(split.files) == ["main.py", "pkg/model.py", "config.yaml", "README.md", "scripts/run.sh"]
    assert split.files["main.py"] == "from model import Net\n\nprint(Net())\n"
    assert split.files["pkg/model.py"] == "class Net:\n    pass\n"
    assert split.files["config.yaml"] == "lr: 0.01\n"
    assert split.files["README.md"] == "# Usage\n```bash\npython main.py\n```\nDone.\n"
    assert split.refused == ["../escape.py", "/etc/passwd"]
    assert any("names no file" in w for w in split.warnings)


def test_nested_fence_inside_three_backticks() -> None:
    text = "### File: README.md\n```markdown\nRun:\n```bash\nmake\n```\nend\n```\n"
    assert split_files(text).files == {"README.md": "Run:\n```bash\nmake\n```\nend\n"}


def test_unclosed_block_runs_to_the_end_and_duplicates_keep_the_last() -> None:
    text = "### File: a.py\n```\nx = 1\n```\n### File: a.py\n```\nx = 2\n"
    split = split_files(text)
    assert split.files == {"a.py": "x = 2\n"}
    assert any("twice" in w for w in split.warnings)


def test_unsafe_names_are_refused() -> None:
    blocks = "".join(
        f"### File: {name}\n```\nx = 1\n```\n"
        for name in ["/abs.py", "C:/x.py", "a/../../b.py", ".git/config", "./src//ok.py"]
    )
    split = split_files(blocks)
    assert list(split.files) == ["src/ok.py"]
    assert split.refused == ["/abs.py", "C:/x.py", "a/../../b.py", ".git/config"]
    assert all(w.startswith("refused file name") for w in split.warnings)
