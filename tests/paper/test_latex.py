"""LaTeX ingestion: sources (file, folder, tarball), macros, structure, math, tables, references."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from papercoder.paper import load_paper
from papercoder.paper.latex_macros import expand_macros, extract_macros
from papercoder.paper.latex_sources import strip_comments

MAIN = r"""\documentclass{article}
\usepackage{amsmath}
\newcommand{\R}{\mathbb{R}}
\newcommand{\vect}[1]{\mathbf{#1}}
\newcommand{\opt}[2][Adam]{#1 with rate #2}
\def\model{TinyNet}
\DeclareMathOperator*{\argmax}{arg\,max}
\title{A Tiny \LaTeX{} Paper\thanks{Work done at home.}}
\author{Jane Doe}
\begin{document}
\maketitle
\begin{abstract}
We present \model{}, a model with 50\% fewer parameters. % a comment to drop
\end{abstract}
\section{Introduction}\label{sec:intro}
\model{} maps $x \in \R^d$ to $\vect{y}$ \citep{smith2020}. See Section~\ref{sec:method},
Table~\ref{tab:hp} and Eq.~\eqref{eq:loss}. We train with \opt{0.001} and \opt[SGD]{0.1}.
\input{sections/method}
\section*{Acknowledgements}
Thanks to everyone.
\bibliographystyle{plain}
\begin{thebibliography}{9}
\bibitem{smith2020} J. Smith. A cited paper. 2020.
\bibitem{doe2021} J. Doe. Another one. 2021.
\end{thebibliography}
\appendix
\section{Proofs}
\subsection{Lemma}
Appendix text.
\end{document}
"""

METHOD = r"""\section{Method}\label{sec:method}
The loss is
\begin{equation}
  \mathcal{L} = \sum_i \ell(x_i) \label{eq:loss}
\end{equation}
and the prediction is $\argmax_y p(y)$.
\begin{align}
  a &= b + c \\
  d &= e \nonumber
\end{align}
\begin{itemize}
  \item first point
  \item second point
\end{itemize}
\begin{enumerate}
  \item step one
  \item step two
\end{enumerate}
\begin{table}[t]
\caption{Hyper-parameters.}\label{tab:hp}
\begin{tabular}{lcc}
\toprule
Name & \multicolumn{2}{c}{Value} \\
\midrule
lr & 0.001 & 3e-4 \\
layers & 4 & 8 \\
\bottomrule
\end{tabular}
\end{table}
\begin{figure}\includegraphics{fig.pdf}\caption{An overview.}\end{figure}
\iffalse This draft text \ifx\a\b nested \fi must vanish. \fi
\begin{verbatim}
x = y % 2  # kept as code
\end{verbatim}
"""


def write_source(root: Path) -> Path:
    (root / "sections").mkdir(parents=True)
    (root / "main.tex").write_text(MAIN)
    (root / "sections" / "method.tex").write_text(METHOD)
    return root


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    return write_source(tmp_path / "src")


def test_folder_source(source_dir: Path) -> None:
    paper = load_paper(source_dir)
    assert paper.title == "A Tiny LaTeX Paper"
    assert paper.abstract == "We present TinyNet, a model with 50% fewer parameters."
    titles = [s.title for s in paper.sections]
    assert titles == ["1 Introduction", "2 Method", "Acknowledgements", "Appendix", "A Proofs", "A.1 Lemma"]
    assert [s.level for s in paper.sections] == [1, 1, 1, 1, 1, 2]
    assert "bibliography (2 entries)" in paper.dropped
    assert "authors" in paper.dropped
    assert "A cited paper" not in paper.markdown()
    assert paper.sections[2].text == "Thanks to everyone."  # \\bibliographystyle leaves nothing behind


def test_references_macros_and_math(source_dir: Path) -> None:
    text = load_paper(source_dir).markdown()
    flat = " ".join(text.split())
    assert "TinyNet maps $x \\in \\mathbb{R}^d$ to $\\mathbf{y}$." in flat
    assert "See Section 2, Table 1 and Eq. (1)." in flat
    assert "We train with Adam with rate 0.001 and SGD with rate 0.1." in flat
    assert "$$\n\\mathcal{L} = \\sum_i \\ell(x_i)\n$$ (1)" in text
    assert "$\\operatorname*{arg\\,max}_y p(y)$" in text
    assert "$$\n\\begin{aligned}\na &= b + c \\\\\nd &= e\n\\end{aligned}\n$$ (2)" in text
    assert "\\label" not in text and "\\citep" not in text and "smith2020" not in text


def test_lists_tables_figures_and_code(source_dir: Path) -> None:
    text = load_paper(source_dir).markdown()
    assert "- first point\n- second point" in text
    assert "1. step one\n2. step two" in text
    assert "Table 1: Hyper-parameters.\n\n| Name | Value | |\n|---|---|---|\n| lr | 0.001 | 3e-4 |" in text
    assert "| layers | 4 | 8 |" in text
    assert "Figure 1: An overview." in text
    assert "fig.pdf" not in text
    assert "draft text" not in text and "must vanish" not in text
    assert "```\nx = y % 2  # kept as code\n```" in text


def test_keep_references(source_dir: Path) -> None:
    paper = load_paper(source_dir, keep_references=True)
    references = next(s for s in paper.sections if s.title == "References")
    assert "J. Smith. A cited paper. 2020." in references.text
    assert not any(note.startswith("bibliography") for note in paper.dropped)


def test_single_file_resolves_inputs_next_to_it(source_dir: Path) -> None:
    paper = load_paper(source_dir / "main.tex")
    assert "2 Method" in [s.title for s in paper.sections]


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_arxiv_tarball(tmp_path: Path) -> None:
    path = _tarball(
        tmp_path / "2101.00001.tar.gz",
        {
            "./main.tex": MAIN.encode(),
            "./sections/method.tex": METHOD.encode(),
            "../outside.tex": b"\\section{Evil}",
            "figs/plot.png": b"\x89PNG",
            "notes.tex": b"\\section{Notes} not the main file",
        },
    )
    paper = load_paper(path)
    assert paper.title == "A Tiny LaTeX Paper"
    titles = [s.title for s in paper.sections]
    assert "2 Method" in titles and "Evil" not in " ".join(titles) and "Notes" not in titles
    assert not (tmp_path / "outside.tex").exists()


def test_tarball_with_symlink_member_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "src.tgz"
    with tarfile.open(path, "w:gz") as archive:
        data = b"\\documentclass{article}\\begin{document}\\section{Real}Text.\\input{link}\\end{document}"
        info = tarfile.TarInfo("main.tex")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("link.tex")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    paper = load_paper(path)
    assert paper.sections[0].text == "Text."
    assert "missing \\input file: link" in paper.dropped


def test_gzipped_single_file(tmp_path: Path) -> None:
    path = tmp_path / "2101.00002.gz"
    path.write_bytes(gzip.compress(b"\\documentclass{article}\\begin{document}\\section{Only}Body.\\end{document}"))
    paper = load_paper(path)
    assert [s.title for s in paper.sections] == ["1 Only"]


def test_latin1_file(tmp_path: Path) -> None:
    path = tmp_path / "old.tex"
    path.write_bytes("\\section{Résumé}Größe und Qualität.".encode("latin-1"))
    paper = load_paper(path)
    assert paper.sections[0].title == "1 Résumé"
    assert paper.sections[0].text == "Größe und Qualität."


def test_input_cycle_and_missing_input(tmp_path: Path) -> None:
    (tmp_path / "a.tex").write_text("\\section{A}From a.\\input{b}")
    (tmp_path / "b.tex").write_text("From b.\\input{a}\\input{missing/file}")
    paper = load_paper(tmp_path / "a.tex")
    assert paper.sections[0].text == "From a.\nFrom b."
    assert "skipped cyclic \\input of a.tex" in paper.dropped
    assert "missing \\input file: missing/file" in paper.dropped


def test_comment_stripping_keeps_escaped_percent() -> None:
    assert strip_comments("50\\% done % hidden\nnext") == "50\\% done \nnext"
    assert strip_comments("line\\\\% hidden after a line break") == "line\\\\"


def test_macro_expansion_guards_recursion() -> None:
    text, macros = extract_macros("\\newcommand{\\loop}{x\\loop}\\def\\a#1{[#1]}\\loop \\a{b}")
    assert text == "\\loop \\a{b}"
    expanded = expand_macros(text, macros)
    assert expanded.endswith("[b]") and expanded.startswith("x" * 10)


def test_protected_macros_are_not_redefined() -> None:
    _, macros = extract_macros("\\renewcommand{\\section}[1]{\\textbf{#1}}\\newcommand{\\x}{y}")
    assert set(macros) == {"x"}


def test_inputs_cannot_escape_the_source_folder(tmp_path: Path) -> None:
    outside = tmp_path / "secret.tex"
    outside.write_text("\\section{Secret}leaked")
    folder = tmp_path / "paper"
    folder.mkdir()
    (folder / "main.tex").write_text("\\section{Main}Body.\\input{../secret}\\input{/etc/hostname}")
    paper = load_paper(folder / "main.tex")
    assert "leaked" not in paper.markdown()
    assert "refused \\input of ../secret (outside the paper)" in paper.dropped
    assert "refused \\input of /etc/hostname (an absolute path)" in paper.dropped
