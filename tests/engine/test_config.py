"""Config files: where they are found, what they mean, and errors that name the file and the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from archlint.run.config import ConfigError, Overrides, find_config, load_settings, resolve
from archlint.plugin.findings import Severity

from archlint_test_plugin import BigLinear

RULES = [BigLinear()]


def test_nearest_config_wins_and_pyproject_without_table_is_skipped(write, tmp_path):
    write("pyproject.toml", "[tool.archlint]\nselect = ['XT901']\n")
    write("proj/pyproject.toml", "[project]\nname = 'x'\n")           # no [tool.archlint]: skipped
    write("proj/src/model.py", "")
    assert find_config(tmp_path / "proj" / "src" / "model.py") == tmp_path / "pyproject.toml"
    write("proj/archlint.yaml", "select: [XT902]\n")
    assert find_config(tmp_path / "proj" / "src") == tmp_path / "proj" / "archlint.yaml"
    write("proj/src/.archlint.yaml", "ignore: [XT9]\n")
    assert find_config(tmp_path / "proj" / "src" / "model.py") == tmp_path / "proj" / "src" / ".archlint.yaml"


def test_full_pyproject_table(write, tmp_path):
    path = write("pyproject.toml", """
        [tool.archlint]
        select = ["XT9"]
        extend-select = ["big-linear"]
        ignore = ["XT902"]
        fail-on = "error"
        probe = false
        device = "meta"
        paths = ["models"]

        [tool.archlint.severity]
        XT901 = "error"

        [tool.archlint.rules.big-linear]
        max-params = 50

        [[tool.archlint.models]]
        target = "models/net.py:Net"
        input-shape = [1, 8]
        dtype = "float64"
        kwargs = { width = 4 }
        name = "tiny"
        ignore = ["XT901"]
    """)
    settings = load_settings(path, RULES)
    run = settings.run
    assert (run.selection.select, run.selection.extend_select, run.selection.ignore) == (["XT9"], ["big-linear"],
                                                                                       ["XT902"])
    assert settings.fail_on is Severity.ERROR and run.probe is False and run.device == "meta"
    assert run.severity_overrides == {"XT901": "error"}
    assert run.rule_options == {"big-linear": {"max_params": 50}}
    assert settings.paths == [str(tmp_path / "models")]
    entry = settings.models[0]
    assert (entry.target, entry.input_shapes, entry.dtype, entry.kwargs, entry.name, entry.ignore, entry.base_dir) == \
        ("models/net.py:Net", ((1, 8),), "float64", (("width", 4),), "tiny", ("XT901",), str(tmp_path))


def test_yaml_config(write):
    path = write("archlint.yaml", """
        select: [XT901]
        rules:
          big-linear:
            max_params: 10
        models:
          - target: net.py
            input-shape: [[2, 3], [2, 5]]
    """)
    settings = load_settings(path, RULES)
    assert settings.run.rule_options == {"big-linear": {"max_params": 10}}
    assert settings.models[0].input_shapes == ((2, 3), (2, 5))


@pytest.mark.parametrize("body, key, problem", [
    ("[tool.archlint]\nselct = ['XT901']\n", "selct", "unknown key"),
    ("[tool.archlint]\nextend_select = ['XT901']\n", "extend_select", "did you mean 'extend-select'"),
    ("[tool.archlint]\nselect = ['AL999']\n", "select", "unknown rule code or name 'AL999'"),
    ("[tool.archlint]\nignore = ['no-such-rule']\n", "ignore", "'no-such-rule'"),
    ("[tool.archlint]\nselect = 'XT901'\n", "select", "expected a list of strings"),
    ("[tool.archlint]\nselect = ['XT901']\nignore = ['XT901']\n", "ignore", "both selected and ignored"),
    ("[tool.archlint]\nfail-on = 'fatal'\n", "fail-on", "unknown severity"),
    ("[tool.archlint]\nprobe = 'yes'\n", "probe", "expected true or false"),
    ("[tool.archlint]\ndevice = 'gpu'\n", "device", "expected one of cpu, meta"),
    ("[tool.archlint.severity]\nXT999 = 'error'\n", "severity.XT999", "unknown rule"),
    ("[tool.archlint.severity]\nXT901 = 'loud'\n", "severity.XT901", "unknown severity"),
    ("[tool.archlint.rules.nope]\nx = 1\n", "rules.nope", "unknown rule"),
    ("[tool.archlint.rules.big-linear]\nmax-parms = 1\n", "rules.big-linear.max-parms", "its options: max-params"),
    ("[tool.archlint.rules.big-linear]\nmax-params = 'many'\n", "rules.big-linear.max-params", "expects int"),
    ("[[tool.archlint.models]]\nname = 'x'\n", "models[0].target", "needs a target"),
    ("[[tool.archlint.models]]\ntarget = 'a.py'\nshape = [1]\n", "models[0].shape", "unknown key"),
    ("[[tool.archlint.models]]\ntarget = 'a.py'\nkwargs = {w = 1}\n", "models[0].kwargs", "file.py:Name"),
    ("[[tool.archlint.models]]\ntarget = 'a.py'\ninput-shape = [1, -3]\n", "models[0].input-shape", "bad input shape"),
    ("[[tool.archlint.models]]\ntarget = 'a.py'\ndtype = 'float99'\n", "models[0].dtype", "unknown dtype"),
])
def test_bad_values_name_the_file_and_the_key(write, body, key, problem):
    path = write("pyproject.toml", body)
    with pytest.raises(ConfigError) as raised:
        load_settings(path, RULES)
    message = str(raised.value)
    assert message.startswith(f"{path}: [tool.archlint] {key}: "), message
    assert problem in message and "\n" not in message


def test_malformed_files(write):
    toml = write("pyproject.toml", "[tool.archlint]\nselect = [\"XT901\" \"XT902\"]\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml: malformed TOML: .*line"):
        load_settings(toml, RULES)
    yaml_file = write("archlint.yaml", "select: [XT901\nignore: x\n")
    with pytest.raises(ConfigError, match=r"archlint.yaml: malformed YAML \(line \d+, column \d+\)"):
        load_settings(yaml_file, RULES)
    listing = write(".archlint.yaml", "- XT901\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_settings(listing, RULES)
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(Path(str(toml) + ".missing"), RULES)


def test_command_line_overrides(write):
    path = write("archlint.yaml", "select: [XT901]\nignore: [XT902]\nfail-on: error\nprobe: true\n")
    settings = load_settings(path, RULES)
    same = resolve(settings, Overrides(), RULES)
    assert same.run.selection.select == ["XT901"] and same.fail_on is Severity.ERROR and same.run.probe
    cli = resolve(settings, Overrides(select=["XT902"], extend_select=["XT901"], ignore=["big-linear"],
                                      fail_on="info", probe=False, device="meta", input_shapes=((1, 2),)), RULES)
    # --select XT902 wins over the file's `ignore = [XT902]`; --ignore adds to the file's ignores
    assert cli.run.selection.select == ["XT902"] and cli.run.selection.ignore == ["big-linear"]
    assert cli.run.selection.extend_select == ["XT901"]
    assert cli.fail_on is Severity.INFO and cli.run.probe is False and cli.run.device == "meta"
    assert cli.input_shapes == ((1, 2),)
    with pytest.raises(ConfigError, match=r"--select: unknown rule code or name 'ZZ1'"):
        resolve(settings, Overrides(select=["ZZ1"]), RULES)
    with pytest.raises(ConfigError, match="both selected and ignored on the command line"):
        resolve(settings, Overrides(select=["XT901"], ignore=["XT901"]), RULES)


@pytest.mark.parametrize("typo", ["2,3,x,32", "1,,3", "1,3,-2", "x", "1;3"])
def test_a_malformed_input_shape_is_an_error_not_a_shorter_shape(typo: str) -> None:
    from archlint.load.inputs import parse_input_shapes

    with pytest.raises(ValueError, match="bad input shape"):
        parse_input_shapes(typo)
    assert parse_input_shapes("1x3x32x32") == parse_input_shapes("1, 3, 32, 32") == ((1, 3, 32, 32),)
