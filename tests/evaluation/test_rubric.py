"""PaperBench rubric scoring by hand computation, the Code-Dev filter, and leaf judging through the fake server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from papercoder.errors import InputError
from papercoder.evaluation.filerank import FileIndex, words
from papercoder.evaluation.rubric import (
    CODE_DEVELOPMENT,
    GradeResult,
    LeafVerdict,
    RubricNode,
    filter_category,
    grade_repository,
    load_rubric,
    parse_leaf_answer,
    score_tree,
)
from papercoder.paper.tokens import count_tokens
from tests.evaluation.helpers import with_model
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply

CD, EXE, RA = CODE_DEVELOPMENT, "Code Execution", "Result Analysis"


def leaf(id: str, weight: float, category: str, text: str = "") -> dict[str, Any]:
    return {
        "id": id,
        "requirements": text or f"requirement {id}",
        "weight": weight,
        "sub_tasks": [],
        "task_category": category,
        "finegrained_task_category": None,
    }


def node(id: str, weight: float, *children: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": id,
        "requirements": f"node {id}",
        "weight": weight,
        "sub_tasks": list(children),
        "task_category": None,
        "finegrained_task_category": None,
    }


TREE = node(
    "root",
    1,
    node("A", 3, leaf("a1", 1, CD), leaf("a2", 2, CD), leaf("a3", 1, EXE), leaf("a4", 0, CD)),
    node("B", 1, leaf("b1", 5, CD)),
    node("C", 2, leaf("c1", 1, RA)),
    node("D", 1, leaf("d1", 0, CD), leaf("d2", 0, CD)),
)
VERDICTS = {
    k: LeafVerdict(score=v) for k, v in {"a1": 1, "a2": 0, "a3": 1, "a4": 1, "b1": 1, "c1": 1, "d1": 1, "d2": 1}.items()
}


def by_id(scored: Any) -> dict[str, float]:
    out = {scored.id: scored.score}
    for child in scored.sub_tasks:
        out.update(by_id(child))
    return out


def test_score_tree_by_hand() -> None:
    scored = score_tree(RubricNode.model_validate(TREE), VERDICTS)
    scores = by_id(scored)
    # A = (1·1 + 2·0 + 1·1 + 0·1) / (1+2+1+0) = 0.5; B (one child) = 1; C = 1; D: every weight 0 → 0.
    assert scores["A"] == 0.5 and scores["B"] == 1.0 and scores["C"] == 1.0 and scores["D"] == 0.0
    # root = (3·0.5 + 1·1 + 2·1 + 1·0) / (3+1+2+1) = 4.5 / 7
    assert scored.score == pytest.approx(4.5 / 7)
    d = next(c for c in scored.sub_tasks if c.id == "D")
    assert "weight 0" in d.explanation


def test_code_development_filter_renormalises() -> None:
    tree = filter_category(RubricNode.model_validate(TREE), "code-development")
    assert tree is not None
    assert [c.id for c in tree.sub_tasks] == ["A", "B", "D"]  # C holds no Code-Development leaf
    assert [leaf.id for leaf in tree.leaves()] == ["a1", "a2", "a4", "b1", "d1", "d2"]
    scored = score_tree(tree, VERDICTS)
    scores = by_id(scored)
    # A = (1·1 + 2·0 + 0·1) / 3 = 1/3; B = 1; D = 0; root = (3·(1/3) + 1·1 + 1·0) / (3+1+1) = 0.4
    assert scores["A"] == pytest.approx(1 / 3)
    assert scored.score == pytest.approx(0.4)
    assert filter_category(RubricNode.model_validate(TREE), "Code Development") == tree
    assert filter_category(RubricNode.model_validate(node("r", 1, leaf("x", 1, EXE))), CD) is None


def test_single_leaf_and_missing_verdict() -> None:
    lone = RubricNode.model_validate(leaf("only", 2, CD))
    assert score_tree(lone, {"only": LeafVerdict(score=1)}).score == 1.0
    with pytest.raises(ValueError, match="no verdict"):
        score_tree(RubricNode.model_validate(TREE), {})


def test_load_rubric_checks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(TREE))
    assert load_rubric(path).id == "root"
    path.write_text(json.dumps(node("root", 1, leaf("x", 1, CD), leaf("x", 1, CD))))
    with pytest.raises(InputError, match="twice"):
        load_rubric(path)
    path.write_text(json.dumps({"id": "r", "weight": 1}))
    with pytest.raises(InputError, match="requirements"):
        load_rubric(path)
    with pytest.raises(InputError, match="not found"):
        load_rubric(tmp_path / "none.json")


def test_parse_leaf_answer() -> None:
    assert parse_leaf_answer('{"explanation": "ok", "score": 1}') == LeafVerdict(score=1, explanation="ok")
    assert parse_leaf_answer('```json\n{"explanation": "no", "score": 0,}\n```').score == 0
    bad = parse_leaf_answer('{"explanation": "?", "score": 2}')
    assert (bad.score, bad.valid) == (0, False)
    assert not parse_leaf_answer("I think it passes.").valid


def test_file_ranking_by_word_overlap() -> None:
    assert {"prototype", "net", "prototypenet"} <= words("class PrototypeNet")
    assert {"learning", "rate"} <= words("learning_rate")
    files = {
        "model/prototype.py": "class Prototype:\n    def distance(self): ...\n",
        "train.py": "def train(prototype): optimizer step\n",
        "README.md": "usage notes " * 2000,
    }
    index = FileIndex(files, count_tokens)
    ranked = [p for p, _ in index.rank("prototype distance computation")]
    assert ranked[0] == "model/prototype.py"
    assert index.select("prototype distance", top_k=1, budget=10_000) == ["model/prototype.py"]
    # The README does not fit a small budget and is passed over.
    assert "README.md" not in index.select("usage notes", top_k=3, budget=500)


def test_grading_end_to_end_through_the_fake_server() -> None:
    tree = node(
        "root",
        1,
        leaf("loss", 1, CD, "The cross-entropy loss over prototype distances is implemented"),
        leaf("temp", 1, CD, "A learned temperature scales the distances"),
        leaf("bad", 2, CD, "Training runs for 30 epochs"),
        leaf("run", 1, EXE, "The training script has been executed"),
    )
    repo = {
        "loss.py": "def prototype_loss(distances, labels):\n    return cross_entropy(-distances, labels)\n",
        "temperature.py": "class Temperature:\n    learned = True\n",
        "train.py": "EPOCHS = 30\n",
    }
    answers = {
        "grade/loss": '{"explanation": "loss.py computes it", "score": 1}',
        "grade/temp": '```json\n{"explanation": "temperature.py", "score": 1}\n```',
        "grade/bad": "The epochs look right to me.",  # unreadable: scores 0, marked invalid
    }

    def responder(request: RecordedRequest) -> Reply:
        return Reply(content=answers[request.headers["x-papercoder-step"]])

    with FakeOpenAIServer(responder) as srv:
        result: GradeResult = with_model(
            srv,
            lambda m: grade_repository(
                m,
                RubricNode.model_validate(tree),
                repo,
                paper="# Paper\n\nPrototypes.",
                category="code-development",
                top_k=1,
                concurrency=2,
            ),
        )
        requests = {r.headers["x-papercoder-step"]: r for r in srv.chat_requests}
    assert sorted(requests) == ["grade/bad", "grade/loss", "grade/temp"]  # the execution leaf is filtered out
    # (1·1 + 1·1 + 2·0) / 4
    assert result.score == 0.5
    assert (result.leaves, result.invalid_leaves, result.calls) == (3, 1, 3)
    loss_prompt = requests["grade/loss"].body["messages"][-1]["content"]
    assert "### File: loss.py" in loss_prompt and "temperature.py" not in loss_prompt
    assert "# Paper" in loss_prompt and "node root" in loss_prompt
    assert requests["grade/loss"].body["response_format"]["json_schema"]["name"] == "rubric_leaf"
    leaves = {c.id: c for c in result.tree.sub_tasks}
    assert leaves["loss"].files == ["loss.py"] and leaves["loss"].explanation == "loss.py computes it"
    assert leaves["bad"].valid is False


def test_grading_refuses_a_paper_that_leaves_no_room() -> None:
    with FakeOpenAIServer(lambda r: Reply(content="{}")) as srv, pytest.raises(InputError, match="no room"):
        with_model(
            srv,
            lambda m: grade_repository(
                m, RubricNode.model_validate(TREE), {"a.py": "x = 1\n"}, paper="word " * 6000, context_tokens=8000
            ),
        )
