"""The pre-commit hook end to end: a git repo, the real `pre-commit`, a commit that fails then passes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from integration_support import USER_MODEL

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = REPO_ROOT / ".pre-commit-hooks.yaml"
SUPPORT = (Path(__file__).parent / "integration_support.py").read_text()
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(shutil.which("git") is None or not (BIN / "pre-commit").exists(),
                                reason="needs git and the pre-commit package")

HELPERS_ONLY = "from torch import nn\n\n\ndef conv3x3(cin: int, cout: int):\n    return nn.Conv2d(cin, cout, 3, padding=1)\n"


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_manifest_is_valid():
    result = subprocess.run([str(BIN / "pre-commit"), "validate-manifest", str(MANIFEST)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (hook,) = yaml.safe_load(MANIFEST.read_text())
    assert hook["id"] == "archlint" and hook["entry"].startswith("archlint check")
    assert hook["types"] == ["python"] and hook["require_serial"] is True


def local_hook_config() -> str:
    """The published hook as a `repo: local` / `language: system` entry (the project's own torch)."""
    (hook,) = yaml.safe_load(MANIFEST.read_text())
    local = {k: v for k, v in hook.items() if k not in ("language", "minimum_pre_commit_version", "description")}
    local["language"] = "system"
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]})


@pytest.fixture
def user_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    repo, site = tmp_path / "repo", tmp_path / "site"
    repo.mkdir()
    site.mkdir()
    # the test's rule plugin, installed as a distribution with an `archlint` entry point
    (site / "census_rules.py").write_text(SUPPORT + "\n\n@hookimpl\ndef archlint_rules():\n    return [KernelCensus()]\n")
    dist = site / "archlint_census-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: archlint-census\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[archlint]\nkernel-census = census_rules\n")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(site),
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "NO_COLOR": "1"}
    env.pop("PYTEST_CURRENT_TEST", None)
    assert run(["git", "init", "-q", "-b", "main"], repo, env).returncode == 0
    (repo / "pyproject.toml").write_text('[tool.archlint]\nselect = ["XT950"]\n')
    (repo / ".pre-commit-config.yaml").write_text(local_hook_config())
    installed = run([str(BIN / "pre-commit"), "install"], repo, env)
    assert installed.returncode == 0, installed.stderr
    run(["git", "add", "pyproject.toml", ".pre-commit-config.yaml"], repo, env)
    assert run(["git", "commit", "-q", "-m", "setup"], repo, env).returncode == 0
    return repo, env


def test_commit_fails_on_a_bad_model_and_passes_when_fixed(user_repo):
    repo, env = user_repo
    models = repo / "models"
    models.mkdir()
    (models / "net.py").write_text(USER_MODEL)
    (models / "helpers.py").write_text(HELPERS_ONLY)          # no model: must pass quietly
    run(["git", "add", "models"], repo, env)
    blocked = run(["git", "commit", "-m", "add net"], repo, env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    stem_line = next(i for i, line in enumerate(USER_MODEL.splitlines(), 1) if "# STEM" in line)
    assert f"models/net.py:{stem_line}: XT950" in output
    assert f"params: {3 * 8 * 49 + 8:,} -> {3 * 8 * 9 + 8:,}" in output
    assert "helpers.py" not in output                         # the model-less file said nothing
    assert "no model" not in output
    assert run(["git", "log", "--oneline"], repo, env).stdout.count("\n") == 1

    fixed = USER_MODEL.replace("nn.Conv2d(3, 8, 7, padding=3)", "nn.Conv2d(3, 8, 3, padding=1)") \
                      .replace("conv(8, 16, 5)", "conv(8, 16, 3)")
    (models / "net.py").write_text(fixed)
    run(["git", "add", "models"], repo, env)
    passed = run(["git", "commit", "-m", "add net (3x3)"], repo, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "archlint (PyTorch architecture lint)" in passed.stderr and "Passed" in passed.stderr
    assert run(["git", "log", "--oneline"], repo, env).stdout.count("\n") == 2
