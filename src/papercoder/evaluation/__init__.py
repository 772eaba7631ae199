"""Evaluation of generated repositories: model judges, PaperBench rubrics, Table-1 statistics and the benchmark
runner (``papercoder.evaluation.bench``, which runs the engine)."""

from papercoder.evaluation.judge import Critique, JudgeAnswer, JudgeResult, Mode, judge_repository
from papercoder.evaluation.repofiles import RepoSnapshot, Target, read_repo, resolve_target
from papercoder.evaluation.rubric import (
    GradeResult,
    LeafVerdict,
    RubricNode,
    ScoredNode,
    filter_category,
    grade_repository,
    load_rubric,
    score_tree,
)
from papercoder.evaluation.stats import RepoStats, repo_stats
from papercoder.parsing.filesplit import SplitAnswer, split_files

__all__ = [
    "Critique",
    "GradeResult",
    "JudgeAnswer",
    "JudgeResult",
    "LeafVerdict",
    "Mode",
    "RepoSnapshot",
    "RepoStats",
    "RubricNode",
    "ScoredNode",
    "SplitAnswer",
    "Target",
    "filter_category",
    "grade_repository",
    "judge_repository",
    "load_rubric",
    "read_repo",
    "repo_stats",
    "resolve_target",
    "score_tree",
    "split_files",
]
