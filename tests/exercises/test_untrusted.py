"""A learner's code is untrusted input: whatever it does, check() returns a failed Result whose
message quotes the learner's own line and says what was expected, never a grader traceback."""

import threading

import numpy as np
import pytest

from chainrule import exercises, nn

RAISE = "        raise NotImplementedError("


def learner_file(tmp_path, name, body, forward=None):
    """The start file of ``name`` with its backward's raise replaced by ``body`` (and, with
    ``forward``, the forward's first line of code replaced too)."""
    path = exercises.start(name, tmp_path / f"{name}_solution.py")
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(RAISE))
    lines[at:at + 1] = [" " * 8 + line for line in body.strip("\n").splitlines()]
    if forward is not None:
        first = next(i for i, line in enumerate(lines) if line.strip().startswith("def forward")) + 1
        while lines[first].strip().startswith("#"):
            first += 1
        lines[first] = " " * 8 + forward
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_quotes(result, path, text):
    assert not result.passed and result.mistake is None
    assert f"{path}, line " in result.message, result.message
    assert text in result.message, result.message
    assert "Traceback" not in result.message and "_grader.py" not in result.message


def test_a_correct_file_passes(tmp_path):
    path = learner_file(tmp_path, "relu", "(a,) = self.saved_tensors\nreturn grad_output * (a > 0)")
    assert exercises.check(path).passed


def test_syntax_error(tmp_path):
    path = learner_file(tmp_path, "relu", "(a,) = self.saved_tensors\nreturn grad_output * (a > 0")
    result = exercises.check(path)
    assert_quotes(result, path, "does not compile")
    assert "Module subclass" in result.message


def test_an_error_at_import_time(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import numpy as np\n\nvalue = 1 / 0\n")
    assert_quotes(exercises.check(path), path, "value = 1 / 0")


def test_backward_that_raises(tmp_path):
    path = learner_file(tmp_path, "linear", "(x,) = self.saved_tensors\nreturn grad_output @ self.weight_matrix")
    result = exercises.check(path)
    assert_quotes(result, path, "return grad_output @ self.weight_matrix")
    assert "AttributeError" in result.message and "expected it to return dC/dx" in result.message


def test_forward_that_raises(tmp_path):
    path = learner_file(tmp_path, "tanh", "(a,) = self.saved_tensors\nreturn grad_output * (1 - a * a)",
                        forward="a = np.tanh(z, undefined_name)")
    result = exercises.check(path)
    assert_quotes(result, path, "a = np.tanh(z, undefined_name)")
    assert "Tanh.forward raised NameError" in result.message and "expected it to return the output" in result.message


def test_wrong_shape(tmp_path):
    path = learner_file(tmp_path, "linear", "(x,) = self.saved_tensors\nreturn (grad_output @ self.weight.data).sum(axis=0)")
    result = exercises.check(path)
    assert_quotes(result, path, "return (grad_output @ self.weight.data).sum(axis=0)")
    assert "has shape (3,); expected shape (4, 3)" in result.message


def test_wrong_type(tmp_path):
    path = learner_file(tmp_path, "sigmoid", "(a,) = self.saved_tensors\nreturn (grad_output * a * (1 - a)).tolist()")
    result = exercises.check(path)
    assert_quotes(result, path, "return (grad_output * a * (1 - a)).tolist()")
    assert "is a list" in result.message and "expected an array of shape" in result.message


def test_returns_none(tmp_path):
    path = learner_file(tmp_path, "sigmoid", "(a,) = self.saved_tensors\ngrad_input = grad_output * a * (1 - a)")
    result = exercises.check(path)
    assert not result.passed and "is None; expected an array of shape (4, 3)" in result.message
    assert "Traceback" not in result.message


def test_embedding_must_return_none(tmp_path):
    path = learner_file(tmp_path, "embedding", "(indices,) = self.saved_tensors\nreturn grad_output")
    result = exercises.check(path)
    assert_quotes(result, path, "return grad_output")
    assert "expected None" in result.message


def test_mutates_grad_output(tmp_path):
    path = learner_file(tmp_path, "relu", "(a,) = self.saved_tensors\ngrad_output *= a > 0\nreturn grad_output")
    result = exercises.check(path)
    assert_quotes(result, path, "return grad_output")
    assert "changed its argument grad_output in place" in result.message


def test_mutates_its_input_in_forward(tmp_path):
    path = learner_file(tmp_path, "relu", "(a,) = self.saved_tensors\nreturn grad_output * (a > 0)",
                        forward="a = np.maximum(z, 0, out=z)")
    result = exercises.check(path)
    assert not result.passed and "changed its input z in place" in result.message


def test_changes_a_parameter(tmp_path):
    body = ("(x,) = self.saved_tensors\nself.weight.data -= 0.1\n"
            "nn.accumulate_grad(self.weight, grad_output.T @ x)\nreturn grad_output @ self.weight.data")
    result = exercises.check(learner_file(tmp_path, "linear", body))
    assert not result.passed and "changed weight" in result.message


def test_never_returns(tmp_path):
    path = learner_file(tmp_path, "tanh", "(a,) = self.saved_tensors\nwhile True:\n    a = a + 0")
    result = exercises.check(path, time_limit=0.5)
    assert_quotes(result, path, "line ")
    assert "a = a + 0" in result.message or "while True:" in result.message  # wherever the alarm struck
    assert "did not return within 0.5 s" in result.message


def test_a_loop_that_swallows_exceptions_is_still_stopped(tmp_path):
    body = "(a,) = self.saved_tensors\nwhile True:\n    try:\n        a = a + 0\n    except Exception:\n        pass"
    result = exercises.check(learner_file(tmp_path, "tanh", body), time_limit=0.5)
    assert not result.passed and "did not return" in result.message


def test_never_returns_at_import(tmp_path):
    path = tmp_path / "loops.py"
    path.write_text("x = 0\nwhile True:\n    x += 1\n")
    result = exercises.check(path, name="relu", time_limit=0.5)
    assert_quotes(result, path, "did not return within 0.5 s")
    assert "x += 1" in result.message or "while True:" in result.message


def test_off_the_main_thread_there_is_no_limit_but_the_check_runs(tmp_path):
    path = learner_file(tmp_path, "relu", "(a,) = self.saved_tensors\nreturn grad_output * (a > 0)")
    results = []
    thread = threading.Thread(target=lambda: results.append(exercises.check(path)))
    thread.start()
    thread.join()
    assert results[0].passed


def test_sys_exit(tmp_path):
    path = learner_file(tmp_path, "relu", "import sys\nsys.exit(3)")
    result = exercises.check(path)
    assert_quotes(result, path, "sys.exit(3)")
    assert "called sys.exit(3)" in result.message


def test_a_missing_file(tmp_path):
    result = exercises.check(tmp_path / "nowhere.py")
    assert not result.passed and "cannot read" in result.message


def test_a_file_without_a_module(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("x = 1\n")
    result = exercises.check(path, name="relu")
    assert not result.passed and "defines no chainrule.nn.Module subclass" in result.message


def test_warnings_of_the_learner_are_not_errors(tmp_path):
    path = learner_file(tmp_path, "sigmoid", "(a,) = self.saved_tensors\nnp.log(np.zeros(1))\n"
                                              "return grad_output * a * (1 - a)")
    assert exercises.check(path).passed


def test_a_recognised_mistake_in_a_file_quotes_its_explanation(tmp_path):
    body = ("(x,) = self.saved_tensors\nnn.accumulate_grad(self.weight, grad_output.T @ x)\n"
            "nn.accumulate_grad(self.bias, grad_output)\nreturn grad_output @ self.weight.data")
    result = exercises.check(learner_file(tmp_path, "linear", body))
    assert result.mistake == "bias_not_summed"
    assert exercises.MISTAKES["bias_not_summed"] in result.message


def test_assigned_gradients_fail_the_accumulation_check():
    class Assigns(nn.Linear):
        def backward(self, grad_output):
            (x,) = self.saved_tensors
            self.weight.grad = grad_output.reshape(-1, self.out_features).T @ x.reshape(-1, self.in_features)
            if self.bias is not None:
                self.bias.grad = grad_output.reshape(-1, self.out_features).sum(axis=0)
            return grad_output @ self.weight.data

    result = exercises.check(Assigns)
    assert result.mistake == "grad_assigned"
    assert "after the second forward and backward" in result.message
    assert np.isfinite(len(result.message))


# -- recurrent layers: forward returns a tuple, backward is given a gradient per output array and
# returns a tuple after forward(x, h0) -------------------------------------------------------------
def test_a_bare_array_where_the_pair_belongs(tmp_path):
    path = learner_file(tmp_path, "rnn", "x, hs, given, batched = self.saved_tensors\nreturn np.zeros(x.shape)")
    result = exercises.check(path)
    assert_quotes(result, path, "return np.zeros(x.shape)")
    assert ("RNN.backward's return is an array of shape (3, 2, 3) and dtype float64; expected a tuple of 2, "
            "(dC/dx, dC/dh0): forward was given x and h0, so backward returns the gradient of each") in result.message


def test_a_tuple_of_the_wrong_length(tmp_path):
    path = learner_file(tmp_path, "rnn", "x, hs, given, batched = self.saved_tensors\n"
                                         "return np.zeros(x.shape), hs[:1], hs[:1]")
    result = exercises.check(path)
    assert_quotes(result, path, "return np.zeros(x.shape), hs[:1], hs[:1]")
    assert "RNN.backward's return is a tuple of 3 items; expected a tuple of 2, (dC/dx, dC/dh0)" in result.message


def test_none_inside_the_tuple(tmp_path):
    path = learner_file(tmp_path, "rnn", "x, hs, given, batched = self.saved_tensors\nreturn np.zeros(x.shape), None")
    result = exercises.check(path)
    assert_quotes(result, path, "return np.zeros(x.shape), None")
    assert ("RNN.backward's return[1] (dC/dh0) is None; expected an array of shape (1, 2, 3) and dtype float64 "
            "(the shape of forward's h0)") in result.message


def test_lstm_states_flat_instead_of_a_pair(tmp_path):
    body = "x, hs, cs, gates, given, batched = self.saved_tensors\nreturn np.zeros(x.shape), hs[:1], cs[:1]"
    path = learner_file(tmp_path, "lstm", body)
    result = exercises.check(path)
    assert_quotes(result, path, "return np.zeros(x.shape), hs[:1], cs[:1]")
    assert ("LSTM.backward's return is a tuple of 3 items; expected a tuple of 2, (dC/dx, (dC/dh0, dC/dc0))"
            in result.message)


def test_lstm_cell_state_gradient_of_the_wrong_shape(tmp_path):
    body = "x, hs, cs, gates, given, batched = self.saved_tensors\nreturn np.zeros(x.shape), (hs[:1], cs[0])"
    path = learner_file(tmp_path, "lstm", body)
    result = exercises.check(path)
    assert_quotes(result, path, "return np.zeros(x.shape), (hs[:1], cs[0])")
    assert ("LSTM.backward's return[1][1] (dC/dc0) has shape (2, 2); expected shape (1, 2, 2) (the shape of "
            "forward's c0)") in result.message


def test_a_pair_where_dx_alone_belongs(tmp_path):
    class ReturnsAPairAlways(exercises.EXERCISES["rnn"].solution_class(None)):
        def backward(self, grad_output, grad_h_n=None):
            returned = super().backward(grad_output, grad_h_n)
            return returned if isinstance(returned, tuple) else (returned, None)

    result = exercises.check(ReturnsAPairAlways)
    assert not result.passed and result.mistake is None
    assert "case 2 of" in result.message and "RNN" in result.message
    assert ("ReturnsAPairAlways.backward's return is a tuple of 2 items; expected an array of shape (4, 1, 2) "
            "and dtype float64: forward was given x alone (no h0), so backward returns dC/dx alone") in result.message
    assert "return returned if isinstance(returned, tuple) else (returned, None)" in result.message


def test_a_wrong_initial_state_gradient_is_named():
    class HalfDh0(exercises.EXERCISES["rnn"].solution_class(None)):
        def backward(self, grad_output, grad_h_n=None):
            returned = super().backward(grad_output, grad_h_n)
            return (returned[0], 0.5 * returned[1]) if isinstance(returned, tuple) else returned

    result = exercises.check(HalfDh0)
    assert not result.passed and result.mistake is None
    assert "\ndC/dh0 differs from the built-in module's at index" in result.message


def test_a_wrong_cell_state_gradient_is_named():
    class HalfDc0(exercises.EXERCISES["lstm"].solution_class(None)):
        def backward(self, grad_output, grad_h_n=None, grad_c_n=None):
            returned = super().backward(grad_output, grad_h_n, grad_c_n)
            if not isinstance(returned, tuple):
                return returned
            dx, (dh0, dc0) = returned
            return dx, (dh0, 0.5 * dc0)

    result = exercises.check(HalfDc0)
    assert not result.passed and "\ndC/dc0 differs from the built-in module's at index" in result.message


def test_every_output_is_compared_by_name():
    class DoubleCn(exercises.EXERCISES["lstm"].solution_class(None)):
        def forward(self, x, hx=None):
            output, (h_n, c_n) = super().forward(x, hx)
            return output, (h_n, 2 * c_n)

    result = exercises.check(DoubleCn)
    assert not result.passed and "\nc_n differs from the built-in module's at index" in result.message

    class FlatHn(exercises.EXERCISES["rnn"].solution_class(None)):
        def forward(self, x, h0=None):
            output, h_n = super().forward(x, h0)
            return output, h_n[0]

    result = exercises.check(FlatHn)
    assert not result.passed and "FlatHn.forward's output[1] (h_n) has shape (2, 3); expected shape (1, 2, 3)" \
        in result.message
    assert "return output, h_n[0]" in result.message


def test_forward_returning_one_array_where_a_pair_belongs():
    class OutputOnly(exercises.EXERCISES["gru"].solution_class(None)):
        def forward(self, x, h0=None):
            output, h_n = super().forward(x, h0)
            return output

    result = exercises.check(OutputOnly)
    assert not result.passed
    assert "OutputOnly.forward's output is an array of shape (3, 2, 2)" in result.message
    assert "expected a tuple of 2, (output, h_n)" in result.message and "return output" in result.message


def test_mutates_the_final_state_gradient(tmp_path):
    body = ("x, hs, given, batched = self.saved_tensors\ngrad_h_n *= 2.0\n"
            "return np.zeros(x.shape), np.zeros(hs[:1].shape)")
    result = exercises.check(learner_file(tmp_path, "rnn", body))
    assert not result.passed and "changed its argument grad_h_n in place" in result.message


def test_the_initial_state_gradient_against_central_differences_and_pytorch(monkeypatch):
    pytest.importorskip("torch")
    ex = exercises.EXERCISES["rnn"]

    class DoubledDh0(nn.RNN):
        def backward(self, grad_output, grad_h_n=None):
            returned = super().backward(grad_output, grad_h_n)
            return (returned[0], 2 * returned[1]) if isinstance(returned, tuple) else returned

    monkeypatch.setattr(ex, "builtin", DoubledDh0)
    result = exercises.check(DoubledDh0, "rnn", torch=False)
    assert not result.passed and "dC/dh0 differs from the central difference at index" in result.message
    monkeypatch.setattr(ex, "builtin", nn.RNN)
    torch_rnn = ex.torch
    monkeypatch.setattr(ex, "torch", lambda *args: (lambda out: (out[0], 2 * out[1]))(torch_rnn(*args)))
    result = exercises.check(nn.RNN, "rnn")
    assert not result.passed and "\nh_n differs from PyTorch's at index" in result.message
