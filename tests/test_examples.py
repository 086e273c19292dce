"""The example scripts run end to end and reach the numbers the README promises."""

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *args):
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))["main"](["--no-progress", *args])


@pytest.mark.slow
def test_xor_loss_below_001():
    assert run_example("xor")["metrics"]["loss"] < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("name, threshold", [("moons", 0.97), ("spirals", 0.95), ("digits", 0.96)])
def test_example_test_accuracy(name, threshold):
    result = run_example(name)
    assert result["metrics"]["test_accuracy"] >= threshold
    losses = result["history"]["loss"]
    assert losses[-1] < losses[0]


def test_import_is_light():
    code = "import sys, chainrule; print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


ALL_EXAMPLES = sorted(p.stem for p in EXAMPLES.glob("*.py") if p.stem != "cli")  # cli.py: their shared options


def help_entries(name, capsys):
    """``{option: help text}`` from ``python examples/<name>.py --help``."""
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(EXAMPLES / f"{name}.py"))["main"](["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out.split("options:", 1)[1]
    entries, current = {}, None
    for line in text.splitlines():
        if line.startswith("  -"):
            current = line.split()[0].rstrip(",")
            entries[current] = line
        elif current is not None:
            entries[current] += " " + line.strip()
    return {option: " ".join(entry.split()) for option, entry in entries.items()}


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_every_option_of_every_example_has_help_with_its_default(name, capsys):
    entries = help_entries(name, capsys)
    assert {"--no-progress", "--plot", "--seed"} <= set(entries)
    for option, entry in entries.items():
        if option != "-h":
            assert "(default: " in entry, f"{name} {option}: {entry}"
    assert ".png, .svg or .pdf" in entries["--plot"] and "folder" in entries["--plot"]
    assert "TQDM_DISABLE" in entries["--no-progress"]


@pytest.mark.parametrize("value", ["moons.jpg", "out/figure.txt", ".png", "out/.svg", ""])
def test_plot_refuses_other_suffixes_and_bare_suffixes_before_training(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_example("moons", "--epochs", "1000", "--plot", value)  # refused at once: no training happens
    assert exit_info.value.code == 2
    assert "argument --plot: " in capsys.readouterr().err


def test_plot_paths_folder_or_file(tmp_path):
    from cli import companion, figure_path  # examples/cli.py (conftest.py puts examples/ on sys.path)

    assert figure_path(str(tmp_path), "moons") == str(tmp_path / "moons.png")       # an existing folder
    assert figure_path("figs/", "moons") == "figs/moons.png"                          # a trailing slash
    assert figure_path("figs", "moons") == "figs/moons.png"                           # no suffix: a folder
    assert figure_path("out/a.SVG", "moons") == "out/a.SVG"                           # a file, any case
    assert figure_path("run.1/b.pdf", "moons") == "run.1/b.pdf"
    assert companion("figs/moons.png", "history") == "figs/moons-history.png"
    with pytest.raises(ValueError, match=r"'a\.jpg' ends in '\.jpg': give a folder, or a file ending in "
                                         r"\.png, \.svg or \.pdf"):
        figure_path("a.jpg", "moons")
    with pytest.raises(ValueError, match=r"'\.png' has no file name before its suffix"):
        figure_path(".png", "moons")


def test_plot_into_a_folder_names_the_files_after_the_example(tmp_path):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "figures"  # does not exist yet
    run_example("moons", "--epochs", "1", "--plot", str(folder))
    assert sorted(p.name for p in folder.iterdir()) == ["moons-history.png", "moons.png"]
    assert not list(tmp_path.glob("**/.*"))  # no hidden files such as ".png"
    run_example("xor", "--epochs", "5", "--plot", str(tmp_path / "x.svg"))
    assert (tmp_path / "x.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "x-loss.svg").exists()


@pytest.mark.slow
def test_readme_snippet_runs_and_prints_what_examples_moons_prints(tmp_path, capsys):
    """The README's code block is examples/moons.py's model, data and recipe: same accuracy."""
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(snippet, "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.strip()
    accuracy = run_example("moons")["metrics"]["test_accuracy"]
    assert printed == f"test accuracy {accuracy:.2%}"
    assert f"`{printed}`" in readme  # the README quotes what it prints
