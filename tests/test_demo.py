"""The demo trains to a useful accuracy, checks gradients, shows the tape and draws its plot."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")

from tapegrad import demo  # noqa: E402


def test_short_run_learns_the_digits(capsys):
    result = demo.main(["--epochs", "3", "--quiet", "--no-plot", "--seed", "1"])
    assert result.test_accuracy > 0.9
    assert len(result.train_loss) == 3 and result.train_loss[-1] < result.train_loss[0]
    assert result.gradcheck_passed
    # Linear, ReLU, Linear and the loss each record at least one entry.
    assert result.tape_entries >= 4
    assert result.plot_path is None
    out = capsys.readouterr().out
    assert "test accuracy:" in out and "gradient check (float64, finite differences): passed" in out
    assert "Linear(in_features=64, out_features=64, bias=True)" in out


def test_plot_is_saved_where_asked(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "curves.png"
    result = demo.main(["--epochs", "1", "--hidden", "16", "--quiet", "--out", str(target)])
    assert result.plot_path == str(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot saved to {target}" in capsys.readouterr().out


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as done:
        demo.parse_args(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in ("--epochs", "--hidden", "--lr", "--seed", "--out", "--no-plot"):
        assert option in text
