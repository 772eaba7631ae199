"""LaTeX inputs stay inside the paper: no hidden files, no other file types, no links out, no include bombs."""

from __future__ import annotations

import io
import os
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercoder._cli.main import app
from papercoder.errors import InputError
from papercoder.paper import load_paper
from papercoder.paper.latex_files import MAX_ENTRIES
from papercoder.paper.latex_sources import MAX_INCLUDE_DEPTH, read_latex_source

SECRET = "hunter2-do-not-send"
MAIN = "\\documentclass{article}\\begin{document}\\section{Main}Body.%s\\end{document}"


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def tarball(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def as_lone_file(tmp_path: Path, files: dict[str, str]) -> Path:
    return write_files(tmp_path / "paper", files) / "main.tex"


def as_folder(tmp_path: Path, files: dict[str, str]) -> Path:
    return write_files(tmp_path / "paper", files)


def as_tarball(tmp_path: Path, files: dict[str, str]) -> Path:
    return tarball(tmp_path / "paper.tar.gz", files)


LAYOUTS: dict[str, Callable[[Path, dict[str, str]], Path]] = {
    "lone file": as_lone_file,
    "folder": as_folder,
    "tarball": as_tarball,
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("target", "file", "reason"),
    [
        (".env", ".env", "a hidden path"),
        (".ssh/id_rsa", ".ssh/id_rsa", "a hidden path"),
        ("sections/.private/notes", "sections/.private/notes.tex", "a hidden path"),
        ("secrets.txt", "secrets.txt", "not a LaTeX source"),
        ("data.csv", "data.csv", "not a LaTeX source"),
        ("paper.cls", "paper.cls", "not a LaTeX source"),
    ],
)
def test_refused_includes_are_dropped_with_a_note(
    tmp_path: Path, layout: str, target: str, file: str, reason: str
) -> None:
    path = LAYOUTS[layout](tmp_path, {"main.tex": MAIN % f"\\input{{{target}}} After.", file: f"{SECRET}\n"})
    source = read_latex_source(path)
    assert SECRET not in source.text
    assert not any(SECRET in text for text in source.files.values())
    assert f"refused \\input of {target} ({reason})" in source.notes
    paper = load_paper(path)
    assert paper.sections[0].text == "Body. After."
    assert SECRET not in paper.markdown()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_normal_inputs_still_work(tmp_path: Path, layout: str) -> None:
    files = {
        "main.tex": MAIN % "\\input{sections/intro}\\include{./sections/method.tex}\\input sections/end ",
        "sections/intro.tex": "\\section{Intro}Intro text.\\input{sections/detail}",
        "sections/detail.tex": "Detail text.",
        "sections/method.tex": "\\section{Method}Method text.",
        "sections/end.tex": "\\section{End}End text.",
    }
    path = LAYOUTS[layout](tmp_path, files)
    paper = load_paper(path)
    assert [s.title for s in paper.sections] == ["1 Main", "2 Intro", "3 Method", "4 End"]
    assert paper.sections[1].text == "Intro text.\nDetail text."
    assert not [note for note in paper.dropped if "input" in note or "include" in note]
    source = read_latex_source(path)
    if layout == "tarball":
        assert source.files_read == [path]
    else:
        assert sorted(p.name for p in source.files_read) == [
            "detail.tex",
            "end.tex",
            "intro.tex",
            "main.tex",
            "method.tex",
        ]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dotdot_and_absolute_includes_are_refused(tmp_path: Path, layout: str) -> None:
    (tmp_path / "outside.tex").write_text(SECRET)
    files = {
        "main.tex": MAIN % "\\input{sections/a}",
        "sections/a.tex": "A.\\input{../../outside}\\input{/etc/hostname}",
    }
    source = read_latex_source(LAYOUTS[layout](tmp_path, files))
    assert SECRET not in source.text
    assert "refused \\input of ../../outside (outside the paper)" in source.notes
    assert "refused \\input of /etc/hostname (an absolute path)" in source.notes


def test_symlinks_out_of_the_folder_are_not_followed(tmp_path: Path) -> None:
    outside = write_files(tmp_path / "home", {"notes.tex": SECRET, "id_rsa": SECRET})
    folder = write_files(tmp_path / "paper", {"main.tex": MAIN % "\\input{leak}\\input{key.tex}\\input{alias}"})
    write_files(folder, {"sections/real.tex": "Real text."})
    (folder / "leak.tex").symlink_to(outside / "notes.tex")
    (folder / "key.tex").symlink_to(outside / "id_rsa")
    (folder / "alias.tex").symlink_to(folder / "sections" / "real.tex")  # a link that stays inside is fine
    (folder / "linked_dir").symlink_to(outside, target_is_directory=True)
    for path in (folder, folder / "main.tex"):
        source = read_latex_source(path)
        assert SECRET not in source.text and not any(SECRET in text for text in source.files.values())
        assert "Real text." in source.text
        assert not any("linked_dir" in name for name in source.files)
    lone = read_latex_source(folder / "main.tex")
    assert "refused \\input of leak (a link out of the paper)" in lone.notes
    assert any(note.startswith("skipped 2 links") for note in read_latex_source(folder).notes)


def test_folder_skips_hidden_folders_and_files(tmp_path: Path) -> None:
    folder = write_files(
        tmp_path / "paper",
        {
            "main.tex": MAIN % "",
            ".git/hooks/x.tex": SECRET,
            ".venv/lib/site.sty": SECRET,
            ".draft.tex": "\\documentclass{article}\\begin{document}" + SECRET + "\\end{document}",
        },
    )
    source = read_latex_source(folder)
    assert source.main == "main.tex"
    assert list(source.files) == ["main.tex"]


def _member(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def test_tarball_links_devices_and_odd_paths_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "src.tar.gz"
    main = (MAIN % "\\input{hard}\\input{soft}\\input{dev}\\input{up}\\input{hidden/x}").encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("./main.tex")
        info.size = len(main)
        archive.addfile(info, io.BytesIO(main))
        archive.addfile(_member("hard.tex", tarfile.LNKTYPE, "main.tex"))
        archive.addfile(_member("soft.tex", tarfile.SYMTYPE, "/home/user/.ssh/id_rsa"))
        archive.addfile(_member("dev.tex", tarfile.CHRTYPE))
        for name in ("../up.tex", "/abs.tex", ".hidden/x.tex"):
            data = SECRET.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    source = read_latex_source(path)
    assert list(source.files) == ["main.tex"]
    assert SECRET not in source.text
    assert "skipped 6 tarball members (links, devices, hidden or outside paths)" in source.notes
    assert "missing \\input file: hard" in source.notes
    assert not (tmp_path / "up.tex").exists()


def test_tarball_bombs_end_in_one_line(tmp_path: Path) -> None:
    # A header that claims 2 GB: refused from the header, before anything is decompressed.
    huge = tmp_path / "huge.tar.gz"
    with tarfile.open(huge, "w:gz") as archive:
        info = tarfile.TarInfo("figure.png")
        info.size = 2 * 1024**3
        archive.addfile(info)
    many = tmp_path / "many.tar"
    with tarfile.open(many, "w") as archive:
        for index in range(MAX_ENTRIES + 1):
            archive.addfile(tarfile.TarInfo(f"f/{index}.png"))
    for path in (huge, many):
        with pytest.raises(InputError) as caught:
            load_paper(path)
        assert "\n" not in str(caught.value) and "decompression bomb" in str(caught.value)


def bomb(tmp_path: Path, levels: int, body: str) -> Path:
    """Each file ``\\input``s the next twice: 2**levels copies of the last one."""
    files = {"main.tex": MAIN % "\\input{f0}"}
    for level in range(levels):
        files[f"f{level}.tex"] = body + (f"\\input{{f{level + 1}}}" * 2 if level + 1 < levels else "")
    return tarball(tmp_path / "bomb.tar.gz", files)


@pytest.mark.parametrize(
    ("levels", "body", "cap"),
    [(12, "word ", "go past 1000 includes"), (9, "word " * 20_000, "expand past 2 MB of text")],
)
def test_include_bomb_ends_in_seconds_via_the_cli(tmp_path: Path, levels: int, body: str, cap: str) -> None:
    path = bomb(tmp_path, levels, body)
    started = time.monotonic()
    result = CliRunner().invoke(app, ["ingest", str(path)])
    elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert elapsed < 5, elapsed
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert str(path) in lines[0] and cap in lines[0] and "include bomb" in lines[0]


def test_self_inclusion_is_a_cycle_note(tmp_path: Path) -> None:
    files = {"main.tex": MAIN % "\\input{loop}", "loop.tex": "Loop.\\input{loop}\\input{loop.tex}"}
    started = time.monotonic()
    paper = load_paper(tarball(tmp_path / "loop.tgz", files))
    assert time.monotonic() - started < 5
    assert paper.sections[0].text == "Body.\nLoop."
    assert "skipped cyclic \\input of loop.tex" in paper.dropped


def test_include_depth_is_capped(tmp_path: Path) -> None:
    levels = MAX_INCLUDE_DEPTH + 2
    files = {"main.tex": MAIN % "\\input{f0}"} | {f"f{i}.tex": f"\\input{{f{i + 1}}}" for i in range(levels)}
    with pytest.raises(InputError, match=f"go past depth {MAX_INCLUDE_DEPTH}"):
        load_paper(tarball(tmp_path / "deep.tgz", files))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_folder_does_not_read_a_named_pipe(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "paper", {"main.tex": MAIN % "\\input{pipe}"})
    os.mkfifo(folder / "pipe.tex")  # reading it would block forever
    assert "missing \\input file: pipe" in read_latex_source(folder).notes
    assert "missing \\input file: pipe" in read_latex_source(folder / "main.tex").notes
