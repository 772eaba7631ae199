"""fit_paper: what is dropped first, trimming, and the guarantees (title kept, budget met, input intact)."""

from __future__ import annotations

import pytest

from papercoder.errors import BudgetExceeded
from papercoder.paper import Paper, Section, fit_paper
from papercoder.paper.budget import TRIM_MARKER, trim_text


def words(text: str) -> int:
    """A deterministic stand-in for a tokenizer: one token per whitespace-separated word."""
    return len(text.split())


def sentences(count: int, prefix: str) -> str:
    return " ".join(f"{prefix} sentence number {index} ends here." for index in range(count))


def make_paper() -> Paper:
    return Paper(
        title="Budget Test Paper",
        abstract=sentences(5, "Abstract"),
        sections=[
            Section(title="1 Introduction", text=sentences(10, "Intro"), level=1),
            Section(title="2 Related Work", text=sentences(10, "Related"), level=1),
            Section(title="2.1 Older Work", text=sentences(5, "Older"), level=2),
            Section(title="3 Method", text=sentences(30, "Method") + "\n\n" + sentences(30, "Detail"), level=1),
            Section(title="4 Experiments", text=sentences(20, "Exp"), level=1),
            Section(title="References", text="[1] A. Author. Paper. 2020.\n" * 20, level=1),
            Section(title="Appendix", text="", level=1),
            Section(title="A Proofs", text=sentences(15, "Proof"), level=1),
            Section(title="B More Results", text=sentences(15, "More"), level=1),
        ],
    )


def total(paper: Paper) -> int:
    return words(paper.markdown())


def test_fits_already() -> None:
    paper = make_paper()
    fitted, steps = fit_paper(paper, total(paper), count=words)
    assert steps == []
    assert fitted == paper


def test_drop_order_references_then_appendix_then_related_work() -> None:
    paper = make_paper()
    full = total(paper)
    fitted, steps = fit_paper(paper, full - 1, count=words)
    references = words("## References\n\n" + paper.sections[5].text)
    assert steps == [f"dropped references ({references} tokens)"]
    assert total(fitted) <= full - 1

    appendix_b = words("## B More Results\n\n" + paper.sections[8].text)
    fitted, steps = fit_paper(paper, full - references - 1, count=words)
    assert steps == [
        f"dropped references ({references} tokens)",
        f"dropped appendix: B More Results ({appendix_b} tokens)",
    ]

    fitted, steps = fit_paper(paper, full - references - appendix_b - 1, count=words)
    assert steps[-1].startswith("dropped appendix: A Proofs (")
    titles = [s.title for s in fitted.sections]
    assert "Appendix" not in titles and "A Proofs" not in titles  # the bare heading goes with its last section

    fitted, steps = fit_paper(paper, total(fitted) - 1, count=words)
    assert steps[-1].startswith("dropped related work: 2 Related Work (")
    assert [s.title for s in fitted.sections] == ["1 Introduction", "3 Method", "4 Experiments"]


def test_trimming_longest_sections_with_marker() -> None:
    paper = make_paper()
    budget = 250
    fitted, steps = fit_paper(paper, budget, count=words)
    assert total(fitted) <= budget
    assert fitted.title == paper.title
    assert fitted.abstract == paper.abstract
    trimmed = [step for step in steps if step.startswith("trimmed section")]
    assert trimmed and trimmed[0].startswith("trimmed section '3 Method' from 360 to ")
    method = next(s for s in fitted.sections if s.title == "3 Method")
    assert method.text.endswith(TRIM_MARKER)
    # Cut at a sentence boundary: what is kept before the marker ends a sentence.
    assert method.text.removesuffix(TRIM_MARKER).rstrip().endswith("ends here.")
    assert fitted.dropped[-len(steps) :] == steps


def test_exact_fit_is_tight() -> None:
    paper = make_paper()
    for budget in (400, 300, 200, 120):
        fitted, _ = fit_paper(paper, budget, count=words)
        assert budget - 40 <= total(fitted) <= budget, budget


def test_abstract_trimmed_only_when_title_and_abstract_exceed() -> None:
    paper = make_paper()
    budget = words("# Budget Test Paper ## Abstract") + 6 + words(TRIM_MARKER)
    fitted, steps = fit_paper(paper, budget, count=words)
    assert fitted.title == "Budget Test Paper"
    assert fitted.sections == []
    assert steps[-1] == f"trimmed abstract from 30 to {6 + words(TRIM_MARKER)} tokens"
    assert fitted.abstract == f"Abstract sentence number 0 ends here.\n\n{TRIM_MARKER}"
    assert total(fitted) == budget


def test_title_alone_too_long() -> None:
    with pytest.raises(BudgetExceeded, match="cannot hold even the paper's title"):
        fit_paper(make_paper(), 2, count=words)


def test_input_is_not_modified() -> None:
    paper = make_paper()
    before = paper.model_copy(deep=True)
    fit_paper(paper, 100, count=words)
    assert paper == before


def test_non_positive_budget() -> None:
    with pytest.raises(ValueError, match="max_tokens must be positive"):
        fit_paper(make_paper(), 0, count=words)


def test_default_counter_is_tiktoken() -> None:
    paper = make_paper()
    fitted, steps = fit_paper(paper, 500)
    from papercoder.paper.tokens import count_tokens

    assert count_tokens(fitted.markdown()) <= 500
    assert steps[0].startswith("dropped references")


def test_trim_text_boundaries() -> None:
    text = "First sentence here. Second sentence here.\n\nThird paragraph starts here and goes on for a while."
    assert trim_text(text, 100, words) == text
    assert trim_text(text, 3 + words(TRIM_MARKER), words) == f"First sentence here.\n\n{TRIM_MARKER}"
    long_sentence = "one two three four five six seven eight nine ten eleven twelve"
    assert trim_text(long_sentence, 2 + words(TRIM_MARKER), words) == f"one two\n\n{TRIM_MARKER}"
    assert trim_text("two words", 1, words) == TRIM_MARKER  # nothing fits: only the marker is left


def test_trim_text_never_cuts_inside_a_table() -> None:
    table = "| a | b. c |\n|---|---|\n| 1. x | 2. y |\n| 3. z | 4. w |"
    text = f"Intro sentence here. More words follow.\n\n{table}\n\nAfter the table."
    budget = words("Intro sentence here. More words follow.") + 12 + words(TRIM_MARKER)
    trimmed = trim_text(text, budget, words)
    assert trimmed == f"Intro sentence here. More words follow.\n\n{TRIM_MARKER}"
