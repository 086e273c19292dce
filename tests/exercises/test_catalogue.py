"""The catalogue grades itself: every start file fails untouched, the library's own backward
passes, every catalogued mistake is failed and named."""

import importlib.util
import inspect

import pytest

from chainrule import exercises
from chainrule.exercises import EXERCISES, MISTAKES

COURSE = ["chain", "sigmoid", "tanh", "relu", "softmax", "linear", "mse", "cross_entropy", "batchnorm1d",
          "layernorm", "embedding", "conv1d", "conv2d", "maxpool2d", "rnn", "gru", "lstm", "attention",
          "residual_block", "ninja"]
PAIRS = [(name, m) for name in COURSE for m in EXERCISES[name].mistakes]


def load_start_file(name, tmp_path):
    """The start file's module, imported from where start() wrote it."""
    path = exercises.start(name, tmp_path)
    spec = importlib.util.spec_from_file_location(f"start_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stub = next(v for v in vars(module).values() if isinstance(v, type) and getattr(v, "exercise", None) == name)
    return path, stub


def test_the_catalogue_in_course_order():
    assert exercises.names()[:len(COURSE)] == COURSE


def test_enough_mistakes_each_explained_in_a_sentence():
    assert len(MISTAKES) >= 30
    for name in COURSE:
        assert len(EXERCISES[name].mistakes) >= 2, name
    for name, explanation in MISTAKES.items():
        assert explanation.endswith(".") and len(explanation) > 40, name


@pytest.mark.parametrize("name", COURSE)
def test_untouched_start_file_says_the_backward_is_still_to_write(name, tmp_path):
    path = exercises.start(name, tmp_path)
    result = exercises.check(path)
    assert not result and not result.passed and result.mistake is None
    assert "still to write" in result.message
    assert f"{path}, line" in result.message  # the learner's own raise, quoted
    assert "Traceback" not in result.message


@pytest.mark.parametrize("name", COURSE)
def test_the_library_backward_in_a_learners_module_passes(name, tmp_path):
    _, stub = load_start_file(name, tmp_path)
    builtin = EXERCISES[name].builtin_class
    library = type("Library", (stub,), {"forward": builtin.forward, "backward": builtin.backward})
    result = exercises.check(library)  # the name comes from the start file's class
    assert result.passed, result.message
    assert bool(result) and result.mistake is None and "passed" in str(result)


@pytest.mark.parametrize("name", COURSE)
def test_the_catalogue_right_solution_passes(name):
    result = exercises.check(EXERCISES[name].solution_class(None), name)
    assert result.passed, result.message


@pytest.mark.parametrize(("name", "mistake"), PAIRS, ids=[f"{n}-{m}" for n, m in PAIRS])
def test_every_catalogued_mistake_fails_and_is_named(name, mistake):
    result = exercises.check(EXERCISES[name].solution_class(mistake), name)
    assert not result.passed
    assert result.mistake == mistake, result.message
    assert mistake in result.message and MISTAKES[mistake] in result.message
    assert "docs/" in result.message


@pytest.mark.parametrize("name", COURSE)
def test_start_file_states_the_task(name, tmp_path):
    ex = EXERCISES[name]
    text = exercises.start(name, tmp_path / f"{name}_start.py").read_text()
    assert ex.docs in text and "python -m chainrule.exercises check" in text
    assert "nn.accumulate_grad" in text and "requires_grad" in text
    assert "def forward" in text and "save_for_backward" in text
    assert "raise NotImplementedError" in text
    assert (tmp_path.parent / ex.docs).exists() or ex.docs.startswith("docs/")


def test_start_refuses_to_overwrite(tmp_path):
    path = exercises.start("relu", tmp_path / "mine.py")
    path.write_text("# my work")
    with pytest.raises(FileExistsError, match="already exists"):
        exercises.start("relu", path)
    assert path.read_text() == "# my work"


def test_start_defaults_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exercises.start("tanh").resolve() == (tmp_path / "tanh.py").resolve()


def test_unknown_exercise_lists_the_catalogue():
    with pytest.raises(KeyError, match="chain, sigmoid"):
        exercises.hint("convolution3d")


@pytest.mark.parametrize("name", COURSE)
def test_hint_and_solution(name):
    assert EXERCISES[name].docs in exercises.hint(name)
    text = exercises.solution(name)
    assert "def backward" in text
    assert inspect.getsource(EXERCISES[name].builtin_class.backward).strip().splitlines()[0].strip() in text


def test_attention_mask_mistake_shows_only_where_there_is_a_mask():
    # masked weights are 0, so a mask left out of the backward must still change dC/dS there
    from chainrule.exercises._grader import _same, prepare, run_trial

    ex = EXERCISES["attention"]
    for index, case in enumerate(ex.cases):
        trial = prepare(ex, case, index)
        right = run_trial(ex.solution_class(None), trial)
        wrong = run_trial(ex.solution_class("attention_mask_not_applied"), trial)
        T = trial.inputs[0][0].shape[-2]
        assert _same(wrong, right) == (not case.kwargs.get("causal") or T == 1), case


@pytest.mark.parametrize("name", ["batchnorm1d", "layernorm"])
def test_solution_includes_the_maths_function_backward_calls(name):
    text = exercises.solution(name)
    assert text.count("def ") >= 2 and "which it calls" in text


@pytest.mark.parametrize(("name", "cell"), [("rnn", "rnn_tanh_cell_backward"), ("gru", "gru_cell_backward"),
                                            ("lstm", "lstm_cell_backward")])
def test_a_recurrent_solution_follows_backward_into_the_loop_over_time_and_the_cell(name, cell):
    text = exercises.solution(name)
    assert "def _run_backward" in text and f"def {cell}(" in text
    assert text.index("def backward") < text.index("def _run_backward") < text.index(f"def {cell}(")


def test_pytorch_is_compared_when_installed(monkeypatch):
    pytest.importorskip("torch")
    ex = EXERCISES["relu"]
    monkeypatch.setattr(ex, "torch", lambda torch, p, b, kw, train, z: 2 * torch.relu(z))
    result = exercises.check(ex.builtin_class)
    assert not result.passed and "PyTorch's" in result.message
    assert exercises.check(ex.builtin_class, torch=False).passed


def test_central_differences_catch_what_agrees_with_a_wrong_builtin(monkeypatch):
    from chainrule import nn

    class Doubled(nn.Sigmoid):
        def backward(self, grad_output):
            return 2 * super().backward(grad_output)

    monkeypatch.setattr(EXERCISES["sigmoid"], "builtin", Doubled)
    result = exercises.check(Doubled, "sigmoid", torch=False)
    assert not result.passed and "central difference" in result.message
