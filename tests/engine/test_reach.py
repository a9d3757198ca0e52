"""Zero-configuration reach: models, constructor arguments and inputs found in code written the way public
repositories write it (each folder of reach_cases/ reproduces one pattern met in them)."""
from __future__ import annotations

import importlib.util
import json
import shutil
import os
import sys
from pathlib import Path

import pytest

from archlint.cli import main

CASES = Path(__file__).resolve().parent / "reach_cases"


def run_in(folder: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`archlint ARGS` run from `folder`, as a user in that folder would: (exit code, stdout, stderr)."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        code = main(args)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr()
    return code, out.out, out.err


def check(case: str, *extra: str, capsys: pytest.CaptureFixture[str], target: str = ".") -> tuple[int, dict, str]:
    """`archlint check .` in the case's folder, JSON report, probe off (loading is what is tested)."""
    code, out, err = run_in(CASES / case, ["check", target, "--format", "json", "--no-probe", *extra], capsys)
    return code, json.loads(out), err


def one_model(report: dict) -> dict:
    assert not report["errors"], report["errors"]
    [model] = report["models"]
    return model


def test_factories_found_from_their_body_and_the_others_named(capsys) -> None:
    _, report, _ = check("factories", capsys=capsys)
    model = one_model(report)
    assert model["name"] == "ResNet8" and model["parameters"] == 16 * 3 * 9 + 16 + 3 * (16 * 16 * 9 + 16) + 170
    assert any("first of 2 factories of ResNet" in n and "archlint check resnets.py:ResNet14" in n
               for n in model["notes"])
    # `train()` builds a model too but does other things: never called (it would raise)


def test_arguments_from_a_call_in_the_same_file_and_its_input(capsys) -> None:
    _, report, _ = check("same_file_call", capsys=capsys)
    model = one_model(report)
    assert "built as in vgg.py:25: VGG('tiny')" in model["notes"]
    assert model["input_shapes"] == [[2, 3, 32, 32]]      # the test function's torch.randn(1, 3, 32, 32)
    assert "input [2, 3, 32, 32] as the code at vgg.py:26 feeds it (its batch of 1 repeated to 2)" in model["notes"]


def test_arguments_from_a_sibling_training_script_with_argparse_defaults(capsys) -> None:
    _, report, _ = check("sibling_train", capsys=capsys)
    model = one_model(report)
    assert "built as in train.py:14-15: UNet(n_channels=3, n_classes=args.classes, bilinear=args.bilinear)" in model["notes"]
    assert model["parameters"] == 3 * 8 * 9 + 8 + 8 * 2 + 2


def test_arguments_from_a_readme_example_and_its_image_size(capsys) -> None:
    _, report, _ = check("readme_example", capsys=capsys)
    model = one_model(report)
    assert any(n.startswith("built as in README.md:7-12: ViT(image_size=64") for n in model["notes"])
    assert model["input_shapes"] == [[2, 3, 64, 64]]


def test_config_class_built_with_its_defaults(capsys) -> None:
    _, report, _ = check("config_class", capsys=capsys)
    model = one_model(report)
    assert "built with config objects: GPT(config=GPTConfig())" in model["notes"]
    assert model["parameters"] == 100 * 16 + 16 * 100 + 100


def test_script_sees_no_flags_and_uses_its_defaults(capsys) -> None:
    _, report, _ = check("script_defaults", capsys=capsys)
    assert one_model(report)["parameters"] == 4 * 12 + 12     # --hidden default 12, not archlint's argv


def test_script_with_a_required_flag_is_imported_with_a_placeholder_for_it(capsys) -> None:
    code, report, err = check("script_required", capsys=capsys, target="net.py")
    model = one_model(report)
    assert code == 0 and model["parameters"] == 10
    assert "the file parses its command line at import and requires arguments: imported with no arguments, " \
           "placeholders for what that lacks (--data='.')" in model["notes"], model["notes"]
    assert "usage:" not in err and "required" not in err     # argparse's refusal is replaced by the note


def test_a_required_argument_with_a_declared_default_gets_that_default(capsys) -> None:
    _, report, _ = check("script_required", capsys=capsys, target="required_default.py")
    model = one_model(report)
    assert model["parameters"] == 4 * 24 + 24, model
    assert any("placeholders for what that lacks (--hidden='24')" in n for n in model["notes"]), model["notes"]


def test_script_whose_command_line_no_placeholder_satisfies_gets_one_line(capsys) -> None:
    # --vocabulary is a file argparse opens: '.' is a folder, so every command line tried is refused
    code, report, err = check("script_required", capsys=capsys, target="reads_file.py")
    [error] = report["errors"]
    assert code == 2 and error["message"].startswith(
        "the file parses its command line at import and stopped: the following arguments are required: "
        "--vocabulary at reads_file.py:7"), error["message"]
    assert "usage:" not in err     # argparse's usage text is replaced by that line


def test_lenet_gets_the_side_its_first_linear_layer_takes(capsys) -> None:
    _, report, _ = check("lenet", capsys=capsys)
    model = one_model(report)
    assert model["input_shapes"] == [[2, 1, 28, 28]]      # 16·4·4 features after two conv+pool: 28×28 MNIST
    assert any("receives the 256 features it takes" in n for n in model["notes"]), model["notes"]


def test_a_linear_model_that_works_on_dim_2_gets_a_sequence_of_vectors(capsys, monkeypatch) -> None:
    from archlint.trace import fake

    # the input check runs the model for real (as for plain-torch code in a fresh process): torch's meta
    # kernel of softmax does not check `dim`, so on meta tensors the [2, 4] guess would pass the check
    monkeypatch.setattr(fake, "real_run_cheaper", lambda model, inputs: True)
    _, report, _ = check("vector_sequence", capsys=capsys)
    model = one_model(report)
    assert model["input_shapes"] == [[2, 16, 4]]
    assert any("16 vectors of the first layer's 4 features" in n for n in model["notes"])


def test_the_users_own_input_wins_over_a_guess_that_also_runs(capsys) -> None:
    _, report, _ = check("cifar_test_fn", capsys=capsys)
    assert one_model(report)["input_shapes"] == [[2, 3, 32, 32]]


def test_two_tensor_arguments_get_two_inputs(capsys) -> None:
    _, report, _ = check("siamese", capsys=capsys)
    model = one_model(report)
    assert model["input_shapes"] == [[2, 1, 224, 224], [2, 1, 224, 224]]


def test_recurrent_first_layer_gets_a_sequence(capsys) -> None:
    _, report, _ = check("rnn", capsys=capsys)
    assert one_model(report)["input_shapes"] == [[2, 16, 10]]   # batch_first LSTM(10, ...)


def test_directory_run_counts_what_it_could_not_build(capsys, tmp_path) -> None:
    (tmp_path / "head.py").write_text(
        "import torch.nn as nn\n\nclass Head(nn.Module):\n    def __init__(self, width):\n        super().__init__()\n"
        "        self.fc = nn.Linear(width, 2)\n\n    def forward(self, x):\n        return self.fc(x)\n")
    code, out, err = run_in(tmp_path, ["check", ".", "--no-probe", "--show-skipped"], capsys)
    assert code == 0
    assert "1 file(s) define models that were not linted (needs arguments: 1)" in out
    assert "skipped: head.py: class Head: needs arguments (width)" in err


def test_notebook_cells_in_order_magics_skipped_locations_by_cell(capsys) -> None:
    code, out, _ = run_in(CASES / "notebook", ["check", ".", "--no-probe", "--select", "receptive-field"], capsys)
    assert code == 1    # the 7×7 field on a 32×32 input (the notebook's own torch.randn(1, 3, 32, 32))
    assert "explore.ipynb:cell 3:line 4: AL201 [warning] receptive field of the last spatial map" in out
    assert "as the file's own code builds it (explore.ipynb:cell 4:line 2)" in out


def test_a_missing_package_says_what_to_install(tmp_path, capsys) -> None:
    (tmp_path / "net.py").write_text("import torch\nimport not_installed_anywhere\n")
    code, out, _ = run_in(tmp_path, ["check", "net.py", "--format", "json"], capsys)
    [error] = json.loads(out)["errors"]
    assert code == 2 and error["message"] == (
        "cannot import: the file needs the package 'not_installed_anywhere', which is not installed here at net.py:2; "
        "install it (pip install not_installed_anywhere) to lint this file")


def import_error_with_installed(package: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    """`archlint check net.py` for a model file that imports `package`, installed (on sys.path, in a folder named
    site-packages) with `code` as its __init__.py: (exit code, the one error)."""
    installed = tmp_path / "site-packages"
    (installed / package).mkdir(parents=True)
    (installed / package / "__init__.py").write_text(code)
    monkeypatch.syspath_prepend(str(installed))
    project = tmp_path / "project"
    project.mkdir()
    (project / "net.py").write_text(f"import torch\nimport {package}\n\n\nclass Net(torch.nn.Module):\n    pass\n")
    exit_code, out, _ = run_in(project, ["check", "net.py", "--format", "json"], capsys)
    [error] = json.loads(out)["errors"]
    return exit_code, error


def test_an_installed_package_importing_what_another_no_longer_has_is_a_version_conflict(tmp_path, monkeypatch,
                                                                                        capsys) -> None:
    # an installed package written for an older pytest imports a submodule pytest does not have
    code, error = import_error_with_installed("oldplugin", "from pytest.gone_submodule import helper\n", tmp_path,
                                              monkeypatch, capsys)
    assert code == 2 and error["cause"] == "version conflict"
    assert error["message"].startswith(
        f"cannot import: the installed package 'oldplugin' imports pytest.gone_submodule, which the installed pytest "
        f"{pytest.__version__} does not have"), error["message"]
    assert error["message"].endswith("install the version of pytest that 'oldplugin' was written for")


def test_an_installed_package_that_raises_when_imported_is_said_as_the_installed_packages(tmp_path, monkeypatch,
                                                                                          capsys) -> None:
    # an installed package written for another version of what it uses fails inside its own code
    code, error = import_error_with_installed("envsplugin", "import json\nREGISTRY = json.registry.env_specs\n",
                                              tmp_path, monkeypatch, capsys)
    assert code == 2 and error["cause"] == "version conflict"
    assert error["message"].startswith("cannot import: the installed package 'envsplugin' raised AttributeError: "
                                       "module 'json' has no attribute 'registry' at "), error["message"]
    assert error["message"].endswith("envsplugin/__init__.py:2: it does not work with the versions installed beside "
                                     "it (or needs what this machine lacks); install the versions the repository "
                                     "was written for")


def test_recurrent_model_that_reshapes_its_input_gets_a_sequence_that_runs(capsys) -> None:
    _, report, _ = check("rnn_rows", capsys=capsys)
    assert one_model(report)["input_shapes"] == [[2, 28, 28]]


def test_a_training_script_that_fails_at_module_level_is_linted_from_what_ran_past_it(capsys) -> None:
    _, report, _ = check("gan_script", capsys=capsys)
    assert not report["errors"]
    models = {m["name"]: m for m in report["models"]}
    assert set(models) == {"generator", "discriminator"}   # the instances its module-level code made
    assert models["generator"]["input_shapes"] == [[2, 16]]              # --latent_dim default
    assert models["discriminator"]["input_shapes"] == [[2, 1, 32, 32]]   # --img_size and --channels defaults
    for model in models.values():
        assert any(n.startswith("the file's module-level code failed (importing the file raised FileNotFoundError")
                   and "linted from what ran past it" in n for n in model["notes"])


def test_a_failing_module_level_statement_leaves_out_only_itself(capsys) -> None:
    """The sizes are set above the failing call and the networks defined below it: both are kept."""
    _, report, _ = check("failed_statement", capsys=capsys, target="agent.py")
    model = one_model(report)
    assert model["parameters"] == 6 * 32 + 32 + 32 * 3 + 3 and model["input_shapes"] == [[2, 6]]
    assert any(n.startswith("the file's module-level code failed (importing the file raised AttributeError: "
                            "'types.SimpleNamespace' object has no attribute 'seed' at ")
               and "linted from what ran past it (each top-level statement on its own" in n
               for n in model["notes"]), model["notes"]


def test_an_arguments_object_filled_in_by_its_caller_reaches_the_model(capsys) -> None:
    """An RL runner keeps `self.args = args`, writes `self.args.state_dim` from its environment, then builds the
    agent with `args`: the writes under the other name are on the way to the site."""
    _, report, _ = check("runner_args", capsys=capsys, target="network.py")
    model = one_model(report)
    assert model["parameters"] == 5 * 64 + 64 + 64 * 3 + 3 and model["input_shapes"] == [[2, 5]]
    assert "built as in agent.py:7-8, called from main.py:19: QNet(args)" in model["notes"], model["notes"]


def test_a_name_the_installed_package_no_longer_has_stops_only_what_uses_it(capsys) -> None:
    """`from torch.functional import align_tensors` (torch 1) fails under torch 2: a model that never uses the name
    is linted, said; one whose constructor or forward uses it gets the version conflict at the line using it."""
    _, report, _ = check("lacking_name", capsys=capsys, target="older_torch.py")
    model = one_model(report)
    assert model["parameters"] == 36
    assert "linted without names the installed packages lack: 'align_tensors' from torch.functional (imported at " \
           "older_torch.py:4); placeholders stood in for them, which the models built and traced here never used" \
           in model["notes"], model["notes"]
    import torch
    code, report, _ = check("lacking_name", capsys=capsys, target="needs_it.py")
    errors = {e["target"]: e for e in report["errors"]}
    assert code == 2 and not report["models"], report
    assert {e["cause"] for e in errors.values()} == {"version conflict"}, errors
    lacks = f"uses align_tensors from torch.functional, which the installed torch {torch.__version__.split('+')[0]}"
    assert errors["needs_it.py:Aligned"]["message"].startswith(f"the constructor {lacks} does not have at "
                                                               "needs_it.py:10: it was written for another version")
    assert f"the forward {lacks} does not have at needs_it.py:22" in errors["needs_it.py:AlignsInForward"]["message"]


def test_a_class_called_through_a_dict_of_architectures_is_a_caller_on_the_way(capsys) -> None:
    """`architecture = ARCHITECTURES[cfg.arch]; architecture(cfg)` calls the detector whose __init__ builds the
    backbone: the way up to the training script goes through it."""
    _, report, _ = check("registry_chain", capsys=capsys, target="backbone.py")
    model = one_model(report)
    assert model["parameters"] == 3 * 8 * 9 + 8
    assert "built as in detector.py:7-9, called from architectures.py:9, then train.py:8: build_backbone(cfg)" \
        in model["notes"], model["notes"]


def test_the_repositorys_own_folder_is_not_a_package_of_its_modules(capsys) -> None:
    """A leftover __init__.py at the root (importing a module that is gone) does not make `model/net.py` the module
    `root_init.model.net`: its scripts run at the root and import `utils` as a top-level package."""
    _, report, _ = check("root_init", capsys=capsys, target="model/net.py")
    model = one_model(report)
    assert model["parameters"] == 8 * 4 + 4 + 4 * 8 + 8


def test_a_relative_data_file_the_repository_does_not_hold_is_data_to_fetch(capsys) -> None:
    """`data/vocab.json`, made from a dataset the README says to download: no folder of the repository has it."""
    code, report, _ = check("relative_data", capsys=capsys, target="model.py")
    [error] = report["errors"]
    assert code == 2 and error["cause"] == "needs data", error
    assert "No such file or directory: 'data/vocab.json'" in error["message"]


def test_a_parameter_whose_default_is_the_model_class_is_a_call_of_it(capsys) -> None:
    """`def ppo(env_fn, actor_critic=core.ActorCritic, ac_kwargs=dict())`, then `actor_critic(obs, act, **ac_kwargs)`,
    called by the main guard with `ac_kwargs=dict(hidden=16)`."""
    _, report, _ = check("class_parameter", capsys=capsys, target="core.py")
    model = one_model(report)
    assert model["parameters"] == 6 * 16 + 16 + 16 * 2 + 2 + 16 + 1
    assert "built as in ppo.py:11-13: actor_critic(env.observations, env.actions, **ac_kwargs)" in model["notes"]


def test_a_construction_left_commented_out_builds_a_model_nothing_else_builds(capsys) -> None:
    _, report, _ = check("commented_out", capsys=capsys, target="models.py")
    model = one_model(report)
    assert model["parameters"] == 8 * 12 + 12 + 12 * 2 + 2
    assert "built as in models.py:15 (commented out there): Net(12)" in model["notes"], model["notes"]


def test_a_hydra_main_gets_the_configuration_hydra_composes(capsys) -> None:
    """`@hydra.main(config_path="conf", config_name="config") def main(cfg)`: the defaults list picks
    conf/model/small.yaml, and a dataclass the script puts in its config store is defined on the way."""
    _, report, _ = check("hydra_main", capsys=capsys, target="net.py")
    model = one_model(report)
    assert model["parameters"] == 3 * (12 * 12 + 12)
    assert "built as in train.py:15-21: Net(cfg.model.width, depth=cfg.model.depth)" in model["notes"]


def test_arguments_bound_to_names_of_flag_defaults(capsys) -> None:
    """CycleGAN's script: `input_shape = (opt.channels, opt.img_height, opt.img_width)`, then the call."""
    _, report, _ = check("bound_names", capsys=capsys, target="models.py")
    model = one_model(report)
    assert "built as in train.py:5-13: Generator(input_shape, opt.n_blocks)" in model["notes"]
    assert model["input_shapes"] == [[2, 3, 64, 64]]      # the image size the found call declares
    assert model["parameters"] == 2 * (3 * 3 * 9 + 3)


def test_a_wrapper_built_around_the_model_its_readme_builds_first(capsys) -> None:
    """`v = ViT(...)` then `MAE(encoder = v, ...)` in the README above the package: the inner model is built
    with the outer one, and the image size the inner one declares sizes the input."""
    _, report, _ = check("readme_wrapper", capsys=capsys, target="tinyvit/mae.py")
    model = one_model(report)
    assert "built as in README.md:8-17: MAE(encoder=v, masking_ratio=0.75)" in model["notes"]
    assert model["input_shapes"] == [[8, 3, 32, 32]]     # the README's own images
    assert "input [8, 3, 32, 32] as the code at README.md:19 feeds it" in model["notes"], model["notes"]
    vit = (3 * 64 * 16 + 16) + 16 * 16 + (16 * 16 + 16)
    assert model["parameters"] == vit + 16 * 3 * 64 + 3 * 64


def test_the_input_the_readme_feeds_the_model_it_builds(capsys) -> None:
    """A Linear-first 1-D model, whose first-layer guess (batch, in_features) would not run: the README feeds the
    model it builds torch.randn(4, 3, 128), and the report says where it came from."""
    _, report, _ = check("readme_1d", capsys=capsys, target="vit_1d.py")
    model = one_model(report)
    assert model["input_shapes"] == [[4, 3, 128]]
    assert "input [4, 3, 128] as the code at README.md:10 feeds it" in model["notes"], model["notes"]


def test_a_model_without_layers_takes_the_shape_its_own_code_feeds(capsys) -> None:
    """No Conv/Linear/Embedding to infer from: the shape the file's own code makes, one tensor per argument."""
    _, report, _ = check("functional_only", capsys=capsys)
    model = one_model(report)
    assert model["name"] == "Blend" and model["input_shapes"] == [[6, 3, 2], [6, 3, 2]]
    assert any(n.startswith("input shape [6, 3, 2] (float32) as the user's code makes it (graph_demo.py:11); the "
                            "model has no Conv/Linear/Embedding layer to infer one from") for n in model["notes"])
    assert model["tracer"] == "fx" and model["findings"] == []   # traced and linted, not only loaded


# -- construction sites across the repository (one fixture repository per pattern) ------------------------------------

def models_of(report: dict) -> dict[str, dict]:
    assert not report["errors"], report["errors"]
    return {m["target"]: m for m in report["models"]}


def test_factories_by_data_flow_assign_then_return_or_delegate_to_a_helper(capsys) -> None:
    """`model = VGG(make_layers(...)); return model` and `return _vgg(...)` are factories of VGG; `train()` builds
    one too but trains (a loop that steps): never a factory, never called (it would raise)."""
    _, report, _ = check("factory_flow", capsys=capsys)
    model = one_model(report)
    assert model["name"] == "vgg11" and model["parameters"] == (3 * 8 * 9 + 8) + (8 * 16 * 9 + 16) + (16 * 10 + 10)
    assert any("first of 2 factories of VGG" in n and "vgg11_bn" in n for n in model["notes"]), model["notes"]


def test_a_registry_lookup_keyed_by_a_command_line_default_and_a_readme_command_line(capsys) -> None:
    """`models.__dict__[args.arch](depth=args.depth)` in cifar.py builds each entry of the registry: resnext with the
    script's defaults (depth 29 = 9n+2), wrn with the command line the README runs (depth 29 is not 6n+4)."""
    _, report, _ = check("registry", capsys=capsys)
    models = models_of(report)
    resnext, wrn = models["models/resnext.py:resnext"], models["models/wrn.py:wrn"]
    assert "built as in cifar.py:5-18: models.__dict__[args.arch](num_classes=num_classes, depth=args.depth)" \
        in resnext["notes"]
    assert resnext["parameters"] == (3 * 16 * 9 + 16) + 3 * (8 * 16 * 9 + 16) + (16 * 10 + 10)
    assert any(n.startswith("built as in cifar.py:5-16 (with `-a wrn --depth 16 --widen-factor 2`)")
               for n in wrn["notes"]), wrn["notes"]
    assert wrn["parameters"] == (3 * 16 * 9 + 16) + 2 * (16 * 16 * 9 + 16) + (16 * 10 + 10)


def test_a_readme_block_of_several_statements_on_a_config_object(capsys) -> None:
    """`cfg = GPT.get_default_config(); cfg.vocab_size = 50; ...; model = GPT(cfg)`: the attribute writes are part of
    the slice; the block size (8) makes the default sequence (16) fail, a shorter one runs."""
    _, report, _ = check("readme_config", capsys=capsys, target="mingpt/model.py")
    model = one_model(report)
    assert "built as in README.md:5-10: GPT(model_config)" in model["notes"]
    assert model["parameters"] == 50 * 16 + 16 * 50 + 50 and model["input_shapes"] == [[2, 8]]


def test_a_readme_two_folders_above_the_models_package_and_the_input_it_feeds(capsys) -> None:
    _, report, _ = check("readme_above", capsys=capsys, target="pkg/nets/mlp.py")
    model = one_model(report)
    assert "built as in README.md:7: MLP(features=12, hidden=32, classes=3)" in model["notes"]
    assert model["input_shapes"] == [[5, 12]]
    assert "input [5, 12] as the code at README.md:8 feeds it" in model["notes"]


def test_a_wrapper_built_around_the_model_built_just_before_it(capsys) -> None:
    _, report, _ = check("wrapper_diffusion", capsys=capsys, target="diffusion/gaussian.py")
    model = one_model(report)
    assert "built as in README.md:5-14: GaussianDiffusion(model, image_size=48, timesteps=10)" in model["notes"]
    assert model["input_shapes"] == [[4, 3, 48, 48]]     # what the README feeds it: training_images
    assert "input [4, 3, 48, 48] as the code at README.md:17 feeds it" in model["notes"]


def test_arguments_computed_from_command_line_defaults_in_a_function_that_also_reads_data(capsys) -> None:
    """`WideResNet(args.layers, args.dataset == "cifar10" and 10 or 100, ...)` inside main(): the slice runs
    parse_args and the construction, not the makedirs and the data file the same function opens."""
    _, report, _ = check("computed_args", capsys=capsys, target="wideresnet.py")
    model = one_model(report)
    assert any(n.startswith("built as in train.py:6-19: WideResNet(args.layers") for n in model["notes"]), model["notes"]
    assert model["parameters"] == (3 * 8 * 9 + 8) + 2 * (8 * 8 * 9 + 8) + (8 * 10 + 10)
    assert not (CASES / "computed_args" / "runs").exists()


def test_the_users_folders_are_not_scratch_space_even_under_the_temporary_folder(capsys, tmp_path) -> None:
    """A repository cloned under /tmp: the slice's `os.makedirs("runs/...")` is refused there too."""
    shutil.copytree(CASES / "computed_args", tmp_path / "computed_args")
    code, out, _ = run_in(tmp_path / "computed_args", ["check", "wideresnet.py", "--format", "json", "--no-probe"],
                          capsys)
    assert json.loads(out)["models"] and not (tmp_path / "computed_args" / "runs").exists()


def test_a_builder_module_that_composes_parts_through_a_helper(capsys) -> None:
    """build_segmenter_b() -> _build(...) -> Segmenter(encoder=Encoder(...), ...): a factory by data flow in
    build.py; in modeling.py, Segmenter is built through the helper's callers, the call's arguments bound to its
    parameters, its relative imports working."""
    _, report, _ = check("builder", capsys=capsys, target="segment/modeling.py")
    model = one_model(report)
    assert model["name"] == "Segmenter"
    assert any(n.startswith("built as in segment/build.py:7-18: Segmenter(") for n in model["notes"]), model["notes"]
    _, report, _ = check("builder", capsys=capsys, target="segment/build.py")
    assert one_model(report)["name"] == "build_segmenter_b"


def test_forward_arguments_of_different_kinds_get_inputs_of_their_kind(capsys) -> None:
    """forward(x, t, y): an image for the conv, a vector of timesteps, class ids for the nn.Embedding."""
    _, report, _ = check("kinds", capsys=capsys)
    model = one_model(report)
    assert model["input_shapes"] == [[2, 4, 224, 224], [2], [2]]
    assert any("y: [2] int64 (ids below 11)" in n for n in model["notes"]), model["notes"]
    assert model["tracer"] == "fx"


def test_add_models_writes_an_entry_per_unbuilt_model_and_the_next_run_names_each_placeholder(
        tmp_path: Path, capsys) -> None:
    (tmp_path / "setup.cfg").write_text("")
    (tmp_path / "model.py").write_text(
        "from dataclasses import dataclass\nimport torch.nn as nn\n\n\n@dataclass\nclass Dims:\n    n_in: int\n"
        "    n_out: int\n\n\nclass Net(nn.Module):\n    def __init__(self, dims: Dims, depth):\n        super().__init__()\n"
        "        self.fc = nn.Linear(dims.n_in, dims.n_out)\n\n    def forward(self, x):\n        return self.fc(x)\n")
    code, out, _ = run_in(tmp_path, ["check", "model.py", "--no-probe"], capsys)
    assert code == 2 and "needs arguments (dims: Dims, depth) and no code of the repository builds it" in out
    code, _, err = run_in(tmp_path, ["check", "model.py", "--no-probe", "--add-models"], capsys)
    assert code == 0 and "added 1 models entry to archlint.yaml (model.py:Net)" in err
    written = (tmp_path / "archlint.yaml").read_text()
    assert '- target: "model.py:Net"' in written and 'dims: "<fill in: Dims>"' in written and \
        'depth: "<fill in>"' in written
    code, _, err = run_in(tmp_path, ["check", "model.py", "--no-probe", "--add-models"], capsys)
    assert "models[0].kwargs.dims: still the placeholder" in err and code == 2
    (tmp_path / "archlint.yaml").write_text(written.replace('"<fill in: Dims>"', "{n_in: 4, n_out: 2}")
                                            .replace('"<fill in>"', "1"))
    code, out, _ = run_in(tmp_path, ["check", "model.py", "--no-probe", "--format", "json"], capsys)
    [model] = json.loads(out)["models"]
    assert model["parameters"] == 4 * 2 + 2 and code in (0, 1)


def test_add_models_appends_to_a_pyproject_table_and_keeps_the_users_text(tmp_path: Path, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.archlint]  # mine\nselect = ['AL2']\n")
    (tmp_path / "net.py").write_text("import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self, width):\n"
                                     "        super().__init__()\n        self.fc = nn.Linear(width, 2)\n\n"
                                     "    def forward(self, x):\n        return self.fc(x)\n")
    code, _, err = run_in(tmp_path, ["check", "net.py", "--no-probe", "--add-models"], capsys)
    text = (tmp_path / "pyproject.toml").read_text()
    assert code == 0 and text.startswith("[project]\nname = 'x'\n\n[tool.archlint]  # mine\nselect = ['AL2']\n")
    assert '[[tool.archlint.models]]' in text and 'kwargs = { width = "<fill in>" }' in text


def test_a_site_that_downloads_is_named_as_such_and_writes_nothing(capsys) -> None:
    """The slice runs under the sandbox's guard: the download is refused (and named: the reach benchmark counts it
    as what no repository reading can supply), the log file the script writes after the site is never written."""
    _, report, _ = check("download_site", capsys=capsys, target="head.py")
    [error] = report["errors"]
    assert error["cause"] == "needs a download"
    assert "failed at train.py:13: a download: archlint uses no network while it builds a model" in error["message"]
    assert not (CASES / "download_site" / "log.txt").exists()


def test_a_model_gets_the_input_size_its_constructor_declares_by_default(capsys) -> None:
    """`def __init__(self, input_size=32, ...)`: built without that argument, the model is built for 32 px, and
    the other forward arguments get their kinds at that size."""
    _, report, _ = check("declared_size", capsys=capsys)
    model = one_model(report)
    assert model["input_shapes"] == [[2, 4, 32, 32], [2], [2]], model["notes"]
    assert any("its constructor's default input_size=32" in n for n in model["notes"]), model["notes"]


def test_factories_the_module_binds_at_run_time_are_models(capsys) -> None:
    """Stubs rebound to partials of a private builder by setattr in a loop: the module's namespace after import is
    what it defines; the builder's helpers (make_layers) are parts, not models."""
    _, report, _ = check("rebound_partials", capsys=capsys)
    names = [m["name"] for m in report["models"]]
    assert names == ["cifar10_net2"], names        # one factory per class; the parts are not linted alone
    assert report["errors"] == [] and report["models"][0]["parameters"] > 0


def test_a_test_parametrized_through_an_alias_builds_the_model(capsys) -> None:
    """`param = pytest.mark.parametrize`, then `@param("scale", (0.5, 2.0))`: the test's parameter takes 0.5."""
    _, report, _ = check("parametrize_alias", capsys=capsys)
    model = one_model(report)
    assert any(n.startswith("built as in tests/test_wrap.py") and "Scaled(net, scale=scale)" in n
               for n in model["notes"]), model["notes"]


def test_a_relative_import_in_a_folder_without_init_is_a_namespace_package(capsys) -> None:
    """PEP 420: `models/isotropic.py` imports `.blocks` with no __init__.py; from the repository's root it is the
    module `models.isotropic`, and it lints."""
    _, report, _ = check("namespace_package", capsys=capsys, target="models/isotropic.py")
    assert one_model(report)["name"] == "Isotropic"


def test_a_helper_called_with_a_mapping_of_keywords_binds_them_as_python_does(capsys) -> None:
    """`setup_training(**vars(args))` (not a factory: it returns a pair): the model's site is inside it, and each
    parameter takes its keyword from the mapping (the command line's defaults), else its default."""
    _, report, _ = check("keyword_mapping", capsys=capsys, target="train.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 20]] and model["parameters"] == 20 * 48 + 48 + 48 * 5 + 5, model["notes"]
    assert any(n.startswith("built as in train.py") for n in model["notes"]), model["notes"]


def test_a_factory_that_returns_the_model_with_its_loss_gives_the_model(capsys) -> None:
    _, report, _ = check("keyword_mapping", capsys=capsys, target="pair.py")
    model = one_model(report)
    assert model["parameters"] == 50 * 24 + 24 * 4 + 4   # the Tagger, not the pair or the loss


def test_a_helper_of_another_file_that_returns_what_a_builder_built_is_a_site(capsys) -> None:
    """`create_model_and_schedule(**args_to_dict(args, model_defaults().keys()))` in a script, its parser made by a
    function defined below main: the helper returns what `create_model` returns, which returns the class's call;
    the image goes to the convolutions, not to the timestep MLP registered first."""
    _, report, _ = check("helper_sites", capsys=capsys, target="denoiser/unet.py")
    [model] = [m for m in report["models"] if m["name"] == "UNet"]
    assert any(n.startswith("built as in denoiser/script_util.py:15, called from scripts/train.py:9: UNet(")
               for n in model["notes"]), \
        model["notes"]
    assert model["input_shapes"] == [[2, 3, 48, 48], [2]], model["notes"]
    assert model["parameters"] == 16 * 64 + 64 + 3 * 16 * 9 + 16 + 16 * 16 * 9 + 16 + 64 * 16 + 16 + 16 * 3 * 9 + 3


def test_the_layer_the_input_reaches_first_is_read_from_forward() -> None:
    import importlib.util

    from archlint.load.first_layer import first_layer, registered_first_layer

    spec = importlib.util.spec_from_file_location("helper_unet", CASES / "helper_sites" / "denoiser" / "unet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    unet = module.UNet(3, 8, 32)
    assert registered_first_layer(unet) is unet.time_embed[0]            # registered first, reached by t
    assert first_layer(unet) is unet.stages[0][0]                        # through the loop and Stage's own loop
    superres = module.SuperResUNet(3, 8, 32)
    assert first_layer(superres) is superres.stages[0][0] and superres.stages[0][0].in_channels == 6   # super().forward


def test_keywords_after_a_skipped_optional_argument_are_fed_in_their_places(capsys) -> None:
    """`net(images, time=t, class_labels=y)` for forward(x, time, self_cond=None, class_labels=None): the skipped
    argument keeps its None, the class labels reach the forward that requires them."""
    _, report, _ = check("keyword_inputs", capsys=capsys)
    model = one_model(report)
    assert model["input_shapes"] == [[2, 3, 24, 24], [2], [2]], model["notes"]
    assert "input [2, 3, 24, 24], [2], None, [2] as the code at cond_unet.py:27 feeds it" in model["notes"]
    assert model["tracer"] == "fx"   # the None argument traced as the constant it is: its branch is not taken


def test_a_backbone_built_with_pretrained_weights_is_built_without_them_and_said(capsys) -> None:
    """`resnet = models.resnet18(pretrained=True); learner = Learner(resnet, image_size=64)` in a README: the
    architecture is the same without the weights, and nothing is downloaded."""
    _, report, _ = check("pretrained_readme", capsys=capsys, target="learner/wrapper.py")
    model = one_model(report)
    assert "built as in README.md:7-8: Learner(resnet, image_size=64) (with pretrained=False: the architecture, no " \
           "downloaded weights)" in model["notes"]
    assert model["input_shapes"] == [[2, 3, 64, 64]] and model["parameters"] == 11_689_512 + 1000 * 32 + 32


def test_a_class_no_code_builds_is_built_in_the_place_of_one_with_the_same_constructor(capsys) -> None:
    """FlowMatching(net, *, image_size) is built nowhere; the README builds GaussianDiffusion(model, image_size=48,
    timesteps=10): the same required parameters, so FlowMatching is built there in its place, without the keyword
    it does not take, and fed what the README feeds."""
    _, report, _ = check("wrapper_diffusion", capsys=capsys, target="diffusion/flow.py")
    model = one_model(report)
    assert "built as in README.md:5-14: GaussianDiffusion(model, image_size=48, timesteps=10), with FlowMatching in " \
           "its place (a constructor that requires the same)" in model["notes"], model["notes"]
    assert model["input_shapes"] == [[4, 3, 48, 48]]


def test_the_input_s_shape_is_not_its_values_when_finding_the_layer_it_reaches() -> None:
    """`batch = x.shape[0]` feeds a class-embedding MLP only the batch size: the image reaches the conv."""
    import torch
    import torch.nn as nn

    from archlint.load.first_layer import first_layer

    class ClassConditioned(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.classes_mlp = nn.Linear(8, 8)
            self.null = nn.Parameter(torch.zeros(8))
            self.init_conv = nn.Conv2d(3, 8, 3)

        def forward(self, x, classes):
            batch = x.shape[0]
            c = self.classes_mlp(torch.where(classes[:, None] > 0, self.null.expand(batch, 8), self.null))
            return self.init_conv(x) + c[:, :, None, None]

    model = ClassConditioned()
    assert first_layer(model) is model.init_conv


def test_a_layer_reached_through_a_nested_attribute_is_found() -> None:
    """`self.transformer.wte(idx)` (a ModuleDict's entry): the ids reach the embedding, not the head after it."""
    import torch.nn as nn

    from archlint.load.first_layer import first_layer

    class TinyGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(50, 8), h=nn.ModuleList([nn.Linear(8, 8)])))
            self.lm_head = nn.Linear(8, 50)

        def forward(self, idx, targets=None):
            b, t = idx.size()
            x = self.transformer.wte(idx)
            for block in self.transformer.h:
                x = block(x)
            return self.lm_head(x)

    model = TinyGPT()
    assert first_layer(model) is model.transformer.wte


def test_a_policy_without_forward_is_linted_through_the_method_that_uses_all_of_it(capsys) -> None:
    """An RL agent with get_value/get_action_and_value and a training method: the method that reaches every part
    (through the own method it calls) is the forward; the one that trains is never run. It is built as the script
    builds it, inside a comprehension over `make_env` thunks (run for the first item); `make_env` itself, named like
    a factory, returns a closure and is no model."""
    _, report, _ = check("agent_methods", capsys=capsys, target="agents.py")
    models = {m["name"]: m for m in report["models"]}
    agent = models["Agent"]
    assert "Agent has no forward(); linted through Agent.get_action_and_value(), the method that uses all of its " \
           "parts" in agent["notes"]
    assert any(n.startswith("built as in train.py:") and n.endswith("Agent(env())") for n in agent["notes"])
    assert agent["input_shapes"] == [[2, 6]] and agent["parameters"] == 2 * (6 * 32 + 32) + 33 + 32 * 3 + 3 + 1
    # pi(x, softmax_dim=0) and v(x) share a trunk: neither uses all of it, both together on one observation do
    critic = models["ActorCritic"]
    assert "ActorCritic has no forward(); linted through ActorCritic.pi() and ActorCritic.v() on the same inputs, " \
           "the methods that use all of its parts together" in critic["notes"]
    assert critic["input_shapes"] == [[2, 4]] and critic["parameters"] == (4 * 64 + 64) + (64 * 2 + 2) + (64 + 1)
    # encode(x) and decode(z) take different things: not run together
    [error] = report["errors"]
    assert error["message"].endswith("Unrelated defines no forward() method, so it cannot run; no method uses all "
                                     "of its parts (decoder, encoder): encode() uses encoder; decode() uses decoder")
    code, out, _ = run_in(CASES / "agent_methods", ["check", "envs.py", "--no-probe"], capsys)
    assert code == 2 and "no model found" in out, out


def test_the_view_through_methods_used_together_runs_each_on_the_same_inputs() -> None:
    import torch
    from torch import fx, nn

    from archlint.mechanics.entry_method import model_to_lint

    class ActorCritic(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Linear(4, 8)
            self.policy = nn.Linear(8, 2)
            self.value = nn.Linear(8, 1)

        def pi(self, state, softmax_dim=0):
            return torch.softmax(self.policy(self.trunk(state)), dim=softmax_dim)

        def v(self, state):
            return self.value(self.trunk(state))

    model = ActorCritic()
    view, note = model_to_lint(model)
    assert note is not None and "ActorCritic.pi() and ActorCritic.v()" in note
    state = torch.randn(3, 4)
    probabilities, value = view(state)
    assert torch.equal(probabilities, model.pi(state)) and torch.equal(value, model.v(state))
    called = {node.target for node in fx.symbolic_trace(view).graph.nodes if node.op == "call_module"}
    assert called == {"trunk", "policy", "value"}
    assert type(model) is ActorCritic and ActorCritic.forward is nn.Module.forward   # the user's class untouched


def test_the_view_through_a_method_leaves_the_users_agent_as_it_was() -> None:
    import importlib.util

    import torch

    from archlint.api import check_built_model

    spec = importlib.util.spec_from_file_location("reach_agents", CASES / "agent_methods" / "agents.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    agent = module.Agent(type("Env", (), {"observation_size": 6, "actions": 3})())
    weights = {k: v.clone() for k, v in agent.state_dict().items()}
    report = check_built_model(agent, torch.randn(4, 6), probe=True)
    [model] = report.models
    assert any("linted through Agent.get_action_and_value()" in note.text for note in model.notes)
    assert model.tracer is not None and not report.errors
    assert type(agent) is module.Agent and agent.training
    assert all(torch.equal(weights[k], v) for k, v in agent.state_dict().items())


def test_a_class_built_through_its_alternative_constructor_is_built_at_that_call(capsys) -> None:
    """`TinyNet.from_name("tiny-b0", num_classes=5)` in the README: a classmethod that returns `cls(...)` is a
    constructor of the class; the one that loads downloaded weights is not called. The constructor's defaults
    (None) fail its own assertion, so the call with them gives way to the site."""
    _, report, _ = check("classmethod_builder", capsys=capsys, target="effnet/model.py")
    model = one_model(report)
    assert "built as in README.md:5: TinyNet.from_name('tiny-b0', num_classes=5)" in model["notes"], model["notes"]
    assert model["parameters"] == 3 * 16 * 9 + 16 + 16 * 16 * 9 + 16 + 16 * 5 + 5


def test_a_head_that_reads_a_dict_of_features_and_a_backbone_looped_by_name(capsys) -> None:
    """DeepLab-style parts: the head's forward reads `feature["low_level"]` and `feature["out"]`, so it gets a dict
    with a tensor for the layer each key reaches; the backbone wrapper runs `for name, stage in
    self.named_children()`, so the image reaches its stem (not the head registered first). Each is built where a
    helper two calls below `segmenter_tiny()` builds it, its parameters bound through both calls."""
    _, report, _ = check("feature_heads", capsys=capsys, target="seg/parts.py")
    models = {m["name"]: m for m in report["models"]}
    assert not report["errors"], report["errors"]
    head = models["FeatureHead"]
    assert "input {'low_level': [2, 8, 224, 224], 'out': [2, 16, 224, 224]}: a dict of the features the forward " \
           "reads, each of the kind its first layer takes" in head["notes"], head["notes"]
    assert "built as in seg/modeling.py:13-15: FeatureHead(2 * width, width, num_classes)" in head["notes"]
    segmenter = models["Segmenter"]
    assert segmenter["input_shapes"] == [[2, 3, 224, 224]], segmenter["notes"]
    assert segmenter["parameters"] == head["parameters"] + models["FeatureGetter"]["parameters"]


def test_an_argument_joined_with_other_features_before_its_first_convolution_gets_the_channels_that_fit(capsys) -> None:
    """`fuse(cat([x, reduce(low_level)]))`: x reaches a 40-channel convolution, but 8 of those channels come from
    the other argument, so x needs 32; measured with a hook on a meta-tensor forward."""
    _, report, _ = check("concat_inputs", capsys=capsys, target="decoder.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 32, 224, 224], [2, 24, 224, 224]], model["notes"]
    assert any("those joined to it on the way counted" in n for n in model["notes"])


def test_noise_joined_with_label_embeddings_gets_the_features_that_fit_and_labels_get_ids(capsys) -> None:
    """A conditional GAN's `cat((label_emb(labels), noise), -1)` before a Linear(25): the labels are class ids (they
    reach an embedding), the noise 25 - 5 = 20 features; the script's `--img_size` does not make it an image."""
    _, report, _ = check("concat_inputs", capsys=capsys, target="cgan.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 20], [2]], model["notes"]


def test_a_script_that_requires_its_data_on_the_command_line_builds_the_model_with_placeholders(capsys) -> None:
    """`train.py DIR --dataset {cifar10,stl10}`: the model's statements do not read the data folder, so the required
    arguments get placeholders (`.`, the first choice), named in the report; `--device` defaulting to CUDA on a
    machine without one is the CPU."""
    import torch

    _, report, _ = check("required_arguments", capsys=capsys, target="model.py")
    model = one_model(report)
    device = "" if torch.cuda.is_available() else ", --device='cpu' (no GPU here)"   # its default is "cuda"
    assert any(n.startswith("built as in train.py:") and n.endswith(
        f"(the script's command line completed: DIR='.', --dataset='cifar10'{device})")
        for n in model["notes"]), model["notes"]
    assert model["input_shapes"] == [[2, 8]], model["notes"]


def test_absl_flags_a_slice_reads_are_parsed_with_their_defaults(capsys) -> None:
    """`FLAGS = flags.FLAGS`, then `flags.DEFINE_integer("T", ...)`: the definitions change the object the alias
    names after the alias is made (the slice keeps them), and `app.run(main)`, which would parse them, never runs."""
    _, report, _ = check("absl_flags", capsys=capsys, target="model.py")
    model = one_model(report)
    assert any(n.startswith("built as in main.py:") and n.endswith(
        "Denoiser(T=FLAGS.T, ch=FLAGS.ch) (the script's command line completed: absl flags at their defaults)")
        for n in model["notes"]), model["notes"]
    assert model["parameters"] == 100 * 8 + 3 * 8 * 9 + 8 + 8 * 3 * 9 + 3


def test_a_builder_bound_by_callers_in_other_files_up_to_the_scripts_main_guard(capsys) -> None:
    # models/detector.py's build(args) is called by models/__init__.py's build_model(args), called by main.py's
    # main(args), called in its main guard after parse_args(): each caller runs in its own module
    _, report, _ = check("callers_across_files/detector", capsys=capsys, target="models/detector.py")
    model = one_model(report)
    assert model["parameters"] == 3 * 16 * 16 + 16 + 16 * 64 + 5 * 16 + 2 * (16 * 16 * 9 + 16) + 16 * 16 + 16 + 16 * 4 + 4
    assert any(n.startswith("built as in models/__init__.py:4-5, called from main.py:20: build(args)")
               and "--data_path='.'" in n and "--device='cpu' (no GPU here)" in n for n in model["notes"])


def test_a_part_gets_the_inputs_the_model_built_around_it_passes_it(capsys) -> None:
    # encoder = build_encoder(args); model = Detector(encoder, ...): the encoder's forward takes a feature map, a
    # boolean mask and position embeddings no first-layer guess can know; Detector's forward passes them
    _, report, _ = check("callers_across_files/detector", capsys=capsys, target="models/encoder.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 16, 56, 56], [2, 56, 56], [1, 16, 56, 56], [5, 16]]
    assert "as the code at models/detector.py:25 (Detector's forward) feeds it" in model["notes"][1]
    assert model["notes"][0].startswith("built as in models/detector.py:23-24, called from models/__init__.py:5, "
                                        "then main.py:20: build_encoder(args)")


def test_networks_built_in_a_plain_class_bound_by_the_script_that_calls_the_class(capsys) -> None:
    # Agent(**kwargs) in train.py calls Agent.__init__(state_dim, ...), which builds the Actor; train.py's
    # --state_dim has no default: the README's command line for train.py gives it
    _, report, _ = check("agent_class_caller", capsys=capsys, target="networks.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 17]] and model["parameters"] == 17 * 64 + 64 + 64 * 3 + 3
    assert "built as in networks.py:18-19, called from train.py:11 (with `--state_dim 17`): " \
           "Actor(state_dim, action_dim, max_action)" in model["notes"]


def test_a_later_example_that_rebinds_the_models_name_does_not_feed_it(capsys) -> None:
    # Core reads a sequence, which a guess from its Linear does not give. README's second example rebinds `model`
    # to a Core and wraps that in a Doubler: the Wrapper the first example built is not what the Doubler holds, so
    # it is not fed the Doubler's batch of 4 vectors (which would not run either), but its own sequence
    _, report, _ = check("readme_rebound", capsys=capsys, target="wrap.py:Wrapper")
    model = one_model(report)
    [shape] = model["input_shapes"]
    assert len(shape) == 3 and shape[0] == 2 and shape[2] == 8, model["notes"]
    # the Core of the first example: the Wrapper around it passes its own input through, which says nothing more
    _, report, _ = check("readme_rebound", capsys=capsys, target="wrap.py:Core")
    model = one_model(report)
    assert not any("forward) feeds it" in n for n in model["notes"]) and len(model["input_shapes"][0]) == 3


def test_a_model_built_in_a_spawned_worker_whose_forward_reduces_across_processes(capsys) -> None:
    # torch.multiprocessing.spawn(main_worker, (args,), n) calls main_worker(0, args) in the first process; the
    # forward's all_reduce runs in a group of one, which is gone afterwards
    import torch.distributed as dist

    _, report, _ = check("spawned_worker", capsys=capsys, target="train.py")
    model = one_model(report)
    assert model["parameters"] == 12 * 24 + 24 + 24 * 24 + 24
    assert "built as in train.py:23-32: Twins(args.width)" in model["notes"], model["notes"]
    assert any(n.startswith("its forward calls torch.distributed: linted as the one process of a group of one")
               for n in model["notes"])
    assert not dist.is_initialized()


def test_a_part_whose_own_guess_runs_is_not_fed_by_its_holder(capsys) -> None:
    # Tiny runs on the input its Linear takes: what Scaler passes it adds nothing (a holder's input is itself a
    # guess), so the part keeps its own
    _, report, _ = check("holder_guess_runs", capsys=capsys, target="nets.py:Tiny")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 8]]
    assert "input shape [2, 8] (float32) inferred from first layer Linear" in model["notes"], model["notes"]


def test_a_model_that_one_hot_encodes_its_input_gets_maps_of_class_ids(capsys) -> None:
    # an image of the first conv's 16 channels does not run (one_hot needs ids); maps of ids below 16 do
    _, report, _ = check("class_map_input", capsys=capsys, target="pixel.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 28, 28]]
    assert any(n.startswith("input shape [2, 28, 28] (int64): maps of class ids below the first convolution's 16 "
                            "channels") for n in model["notes"]), model["notes"]


def test_a_script_that_trains_at_module_level_is_imported_without_its_training(capsys) -> None:
    # lecture style: setup, the model, then 5000 optimiser steps, a print of the last loss and a sample from the
    # trained model (through its other name), no main guard; the model is built from what the setup read (the
    # vocabulary of story.txt) and nothing of the training or of the trained model's use runs
    _, report, _ = check("module_training", capsys=capsys, target="lecture.py")
    model = one_model(report)       # `same_model = model.to("cpu")` is the same model: linted once
    assert model["name"] == "model"
    vocab = len(set((CASES / "module_training" / "story.txt").read_text()))
    assert model["parameters"] == (vocab + 16) * 32 + 2 * 32 + 32 * 32 + 32 + 32 * vocab + vocab
    assert "the file's module-level training was not run (lecture.py:42, 48, 58): linting never trains" in \
        model["notes"], model["notes"]


def test_a_notebook_cell_that_calls_its_training_function_is_not_run(capsys) -> None:
    # cell 7 calls fit(), whose loop steps an optimiser ten million times; cell 8 prints what only fit() returned
    _, report, _ = check("module_training", capsys=capsys, target="regression.ipynb")
    model = one_model(report)
    assert model["parameters"] == 5 * 16 + 16 + 16 + 1
    assert "the file's module-level training was not run (regression.ipynb:cell 7:line 1, cell 8:line 1): " \
           "linting never trains" in model["notes"], model["notes"]


def test_module_level_code_over_its_cpu_budget_falls_back_to_the_definitions(tmp_path, capsys, monkeypatch) -> None:
    # a loop that is not recognisably training (no backward, no optimiser) still cannot hold the lint
    import archlint.load.sandbox as sandbox

    monkeypatch.setattr(sandbox, "IMPORT_CPU_SECONDS", 2)
    (tmp_path / "setup.cfg").write_text("")
    (tmp_path / "busy.py").write_text(
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n        return self.fc(x)\n\n\n"
        "count = 0\nwhile count >= 0:\n    count += 1\n")
    code, out, _ = run_in(tmp_path, ["check", "busy.py", "--format", "json", "--no-probe"], capsys)
    model = one_model(json.loads(out))
    assert code == 0 and model["parameters"] == 10
    assert any(n.startswith("the file's module-level code failed (it ran for more than 2 s of CPU time")
               for n in model["notes"]), model["notes"]


@pytest.mark.parametrize("source, left_out", [
    # a trainer's fit, and what reads its result
    ("import x\nmodel = x.Net()\ntrainer = x.Trainer()\ntrainer.fit(model, data)\nscore = trainer.callback_metrics\n"
     "best = model\n", [4]),
    # a method of the file's own class that trains through another method, called on an instance
    ("class Solver:\n    def step(self):\n        for b in self.data:\n            self.loss(b).backward()\n"
     "    def train(self):\n        self.step()\n\nsolver = Solver()\nsolver.train()\n", [9]),
    # a method is known by its receiver: a dict's update is not the agent's training update
    ("class Agent:\n    def update(self):\n        for b in self.data:\n            self.loss(b).backward()\n\n"
     "cfg = {}\ncfg.update(a=1)\nAgent().update()\n", [8]),
    # a loop that builds layers, an evaluation loop and a main guard are not training
    ("import torch\nlayers = []\nfor width in (8, 16):\n    layers.append(torch.nn.Linear(width, width))\n"
     "with torch.no_grad():\n    for x in range(3):\n        print(x)\nif __name__ == '__main__':\n    train()\n", []),
    # a name the training bound, bound again by setup, is setup's again
    ("for epoch in range(9):\n    opt.step()\nloss = 0\nprint(loss)\nprint(epoch)\n", [1, 5]),
])
def test_module_level_training_is_read_from_the_syntax_tree(source, left_out) -> None:
    import ast

    from archlint.mechanics.training import module_level_training

    assert [s.lineno for s in module_level_training(ast.parse(source))] == left_out


@pytest.mark.parametrize("model_name, shape", [("ChannelGate", [2, 24, 16, 16]),    # channels first
                                              ("GridMixer", [2, 16, 16, 12])])    # channels last
def test_a_linear_first_model_gets_the_rank_its_forward_unpacks(capsys, model_name, shape) -> None:
    # neither a batch of vectors nor a sequence of them runs: the forward unpacks four dimensions
    _, report, _ = check("unpacked_rank", capsys=capsys, target=f"blocks.py:{model_name}")
    model = one_model(report)
    assert model["input_shapes"] == [shape]
    argument = "x" if model_name == "ChannelGate" else "grid"
    assert any(n.startswith(f"inputs {argument}: {shape}: the ranks the forward's code unpacks ({argument} 4), sized "
                            f"by the first layer each reaches") for n in model["notes"]), model["notes"]


def test_a_network_built_in_a_solvers_method_from_attributes_its_init_sets(capsys) -> None:
    # Solver.__init__(loader, config) keeps config's sizes on self, then build_model() builds Critic(self.hidden,
    # self.outputs); main.py's call binds config to the argparse defaults, and loader (whose data file is not
    # there) is not needed: the instance's __init__ never runs, only the statements setting what the site reads
    _, report, _ = check("trainer_class", capsys=capsys, target="nets.py:Critic")
    model = one_model(report)
    assert model["parameters"] == 48 * 24 + 24 + 24 * 2 + 2
    assert "built as in solver.py:8-16, called from main.py:17: Critic(self.hidden, self.outputs)" in model["notes"]


def test_a_network_built_by_a_subclass_from_what_its_inherited_init_keeps(capsys) -> None:
    # ForecastExperiment(args) runs Experiment.__init__ (imported from experiments/base.py), which keeps args on
    # self; the subclass's _build_model reads self.args
    _, report, _ = check("trainer_class", capsys=capsys, target="nets.py:Encoder")
    model = one_model(report)
    assert model["parameters"] == 7 * 48 + 48 + 2 * (48 * 48 + 48)
    assert any(n.startswith("built as in experiments/forecast.py:4-7, called from main.py:18: Encoder(self.args.features")
               for n in model["notes"]), model["notes"]


def test_a_part_built_in_its_holders_init_from_an_attribute_set_before(capsys) -> None:
    _, report, _ = check("trainer_class", capsys=capsys, target="heads.py:Head")
    model = one_model(report)
    assert model["parameters"] == 24 * 3 + 3
    assert "built as in heads.py:14-18: Head(self.width, classes)" in model["notes"], model["notes"]


@pytest.mark.parametrize("model_name, shapes", [("LabelToImage", [[2, 3, 224, 224], [2, 4]]),
                                               # any split of a map runs: the first, an RGB image, is taken
                                               ("MapToImage", [[2, 3, 224, 224], [2, 4, 224, 224]])])
def test_a_generator_that_concatenates_its_condition_gets_the_first_convs_channels_split(capsys, model_name,
                                                                                          shapes) -> None:
    _, report, _ = check("conditioned_inputs", capsys=capsys, target=f"generators.py:{model_name}")
    model = one_model(report)
    assert model["input_shapes"] == shapes
    assert any(n.endswith("channels split between them (the forward concatenates them)") for n in model["notes"]), \
        model["notes"]


@pytest.mark.parametrize("script, where", [("script.py", "script.py:19"), ("in_guard.py", "in_guard.py:19-23")])
def test_a_layer_that_reads_a_global_only_the_main_guard_binds(capsys, script, where) -> None:
    # Scorer.__init__ reads `args`, parsed in `if __name__ == "__main__":`; the site is in main(), which the guard
    # calls after parsing, or in the guard itself (where the call reads no `args`)
    _, report, _ = check("main_guard_globals", capsys=capsys, target=f"{script}:Scorer")
    model = one_model(report)
    assert model["parameters"] == 12 * 20 + 20 + 20 * 3 + 3
    assert f"built as in {where}: Scorer(12)" in model["notes"], model["notes"]


def test_script_with_a_required_flag_is_imported_as_its_readme_runs_it(capsys) -> None:
    _, report, _ = check("script_required", capsys=capsys, target="train.py")
    model = one_model(report)
    assert model["parameters"] == 4 * 40 + 40      # --hidden 40 from the README's command line, not the default 16
    assert "the file parses its command line at import and requires arguments: imported with `--data ./images " \
           "--hidden 40` as the repository's READMEs or scripts run it" in model["notes"], model["notes"]


def test_a_model_moved_to_cuda_as_it_is_built_stays_on_the_cpu_without_a_gpu(capsys) -> None:
    import torch
    from torch import nn

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the move happens")
    to, cuda = nn.Module.to, torch.Tensor.cuda
    _, report, _ = check("cuda_script", capsys=capsys, target="train.py")
    assert not report["errors"], report["errors"]
    models = {m["name"]: m for m in report["models"]}
    assert set(models) == {"model", "backup"}     # `criterion = nn.CrossEntropyLoss()` is not a model
    assert models["model"]["parameters"] == 3 * 16 * 9 + 16 + 16 * 10 + 10
    assert models["backup"]["parameters"] == 3 * 8 * 9 + 8 + 8 * 10 + 10
    assert "moved to CUDA at train.py:17, train.py:18: kept on the CPU (no GPU here)" in models["model"]["notes"]
    assert nn.Module.to is to and torch.Tensor.cuda is cuda     # put back afterwards


def test_a_notebook_whose_early_cell_fails_is_linted_from_what_runs_past_it(capsys) -> None:
    # cell 2 writes a folder (refused) and reads a data file that is not there; the model's cells do not need
    # them, so the notebook's own `net` is linted, as a person re-running the cells after the error would see it
    _, report, _ = check("module_training", capsys=capsys, target="tutorial.ipynb")
    model = one_model(report)
    assert model["name"] == "net" and model["parameters"] == 6 * 12 + 12 + 12 + 1
    assert any(n.startswith("the file's module-level code failed (") and "linted from what ran past it" in n
               for n in model["notes"]), model["notes"]


def test_a_process_an_installed_library_starts_as_it_is_imported_is_let_through(tmp_path, capsys, monkeypatch) -> None:
    # a library probing its shared library in a child interpreter at import (glfw does, under MuJoCo's gym
    # environments) is not the repository's work; the repository's own subprocess call still is refused
    installed = tmp_path / "lib" / "site-packages"
    installed.mkdir(parents=True)
    (installed / "probing_library.py").write_text(
        "import subprocess, sys\nVERSION = subprocess.run([sys.executable, '-c', 'print(3)'], capture_output=True, "
        "text=True).stdout.strip()\n")
    monkeypatch.syspath_prepend(str(installed))
    repository = tmp_path / "repo"
    repository.mkdir()
    (repository / "setup.cfg").write_text("")
    model_code = ("import torch.nn as nn\nimport probing_library\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                  "        super().__init__()\n        self.fc = nn.Linear(int(probing_library.VERSION), 2)\n\n"
                  "    def forward(self, x):\n        return self.fc(x)\n")
    (repository / "net.py").write_text(model_code)
    (repository / "own.py").write_text(model_code + "\nimport subprocess\nsubprocess.run(['true'])\n")
    _, out, _ = run_in(repository, ["check", "net.py", "--format", "json", "--no-probe"], capsys)
    assert one_model(json.loads(out))["parameters"] == 3 * 2 + 2
    import sys

    assert sys.modules.pop("probing_library", None) is not None   # imported again by the next file
    _, out, _ = run_in(repository, ["check", "own.py", "--format", "json", "--no-probe"], capsys)
    model = one_model(json.loads(out))
    assert any("starts a process, which archlint does not do" in n for n in model["notes"]), model["notes"]


def test_a_part_built_in_another_files_holder_from_an_attribute_its_init_set(capsys) -> None:
    # Holder.__init__ (holder.py) calls super().__init__(), then sets self.width, then builds Scale(self.width):
    # the holder's class statement runs in the slice, and its super() call, meaningless outside the class, does not
    _, report, _ = check("trainer_class", capsys=capsys, target="parts.py:Scale")
    model = one_model(report)
    assert model["parameters"] == 15 * 15 + 15
    assert "built as in holder.py:7-11: Scale(self.width)" in model["notes"], model["notes"]


@pytest.mark.parametrize("statement, changed", [
    ("super().__init__()", set()),                                     # a function's result is a new object
    ("parser.add_argument_group('data').add_argument('--root')", {"parser"}),   # a method's result may be its own
    ("self.layers.append(block)", {"self.layers"}),                     # an attribute of self is its own name
    ("cfg.model.depth = 12", {"cfg"}),
])
def test_the_names_a_statement_changes(statement, changed) -> None:
    import ast

    from archlint.load.slicing import changed_names

    assert changed_names(ast.parse(statement).body[0]) == changed


def test_a_forward_that_moves_its_input_to_cuda_is_traced_on_the_cpu_and_said(capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the move happens")
    _, report, _ = check("cuda_script", capsys=capsys, target="forward_move.py")
    model = one_model(report)
    assert model["parameters"] == 4 * 3 + 3
    assert "its forward puts tensors on CUDA at a line the traced graph does not show: kept on the CPU (no GPU " \
           "here)" in model["notes"], model["notes"]


def test_tensors_a_forward_makes_on_cuda_are_made_on_the_cpu_and_said(capsys) -> None:
    # `device="cuda"` by default, then `torch.arange(..., device=self.device)` in the forward: every tracer failed
    # with "Found no NVIDIA driver"
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the tensors are made on it")
    _, report, _ = check("cuda_script", capsys=capsys, target="device_default.py")
    model = one_model(report)
    assert model["tracer"] == "fx" and model["parameters"] == 3 * 8 * 9 + 8 + 8 * 8 + 8
    assert "its forward puts tensors on CUDA at device_default.py:16, device_default.py:17: kept on the CPU (no " \
           "GPU here)" in model["notes"], model["notes"]


@pytest.mark.parametrize("target, said", [
    # the constructor calls the library: `yaml.safe_load(text, yaml.SafeLoader)`, the loader positional
    ("settings.py", "constructor raised TypeError: safe_load() takes 1 positional argument but 2 were given at "
                    "settings.py:11: the installed PyYAML "),
    # the script's statement before the site calls it (gymnasium's wrappers, librosa's pad_center in the wild)
    ("policy.py", "failed at train.py:6: TypeError: safe_load() takes 1 positional argument but 2 were given: the "
                  "installed PyYAML "),
])
def test_a_call_the_installed_library_version_refuses_is_a_version_conflict(target, said, capsys) -> None:
    _, report, _ = check("changed_library", capsys=capsys, target=target)
    [error] = report["errors"]
    assert error["cause"] == "version conflict", error
    assert said in error["message"] and "does not take the arguments the code gives yaml.safe_load: the code was " \
        "written for another version of PyYAML; install the version the repository was written for" in error["message"]


def test_a_constructor_failing_on_a_library_version_keeps_that_cause_when_its_sites_fail_otherwise(capsys) -> None:
    # the constructor refused by the installed PyYAML, then the script that builds it failed reading a checkpoint's
    # settings: the version is what stops the model
    _, report, _ = check("changed_library", capsys=capsys, target="settings.py")
    [error] = report["errors"]
    assert "failed at inference.py:6: FileNotFoundError" in error["message"], error
    assert error["cause"] == "version conflict", error


def test_a_call_of_the_code_s_own_function_with_wrong_arguments_is_the_code_s_failure(capsys) -> None:
    _, report, _ = check("changed_library", capsys=capsys, target="own_call.py")
    [error] = report["errors"]
    assert error["cause"] == "could not be built" and "widths() takes 1 positional argument but 2 were given" in \
        error["message"] and "another version" not in error["message"], error


@pytest.mark.parametrize("target, cause, said", [
    ("aligner.py", "unbuilt extension", "the repository's compiled extension fastpath.fastpath is not built at "
                                        "fastpath/__init__.py:1; build it (python setup.py build_ext --inplace in "
                                        "fastpath)"),
    ("labelled.py", "needs data", "No such file or directory: '/archlint-fixture-data/coco/labels.txt' at "
                                  "labelled.py:4"),
    ("remote.py", "needs a distributed runtime", "RPC has not been initialized"),
])
def test_what_the_machine_lacks_is_named_as_the_environment_s_cause(target, cause, said, capsys) -> None:
    # what no reading of the repository supplies: counted apart by the summary and the reach benchmark
    _, report, _ = check("environment_needs", capsys=capsys, target=target)
    [error] = report["errors"]
    assert error["cause"] == cause and said in error["message"], error


def test_a_module_calling_its_own_parts_by_key_is_no_registry_site(capsys) -> None:
    # a zoo where every file's class is `Model`: another model's `self.mixers[i](x)` (in its forward and in a helper
    # method) and `self.heads[self.task](x)` were tried as registry sites of this one, and their failure was said
    _, report, _ = check("parts_by_index", capsys=capsys, target="models/linear.py")
    [error] = report["errors"]
    assert error["cause"] == "needs arguments", error
    assert "no code of the repository builds it" in error["message"] and "mixer.py" not in error["message"], error


def test_a_lazy_registry_filled_by_a_base_class_builds_each_model_of_its_folder(capsys) -> None:
    # an experiment zoo: the base class's module fills `self.model_dict` with a mapping that imports
    # `models.<name>` when asked, a subclass in a file naming no model calls `self.model_dict[self.args.model](
    # self.args)`, and the script picks the subclass in a branch (`Exp = ExpForecast` / `Exp = ExpClassify`)
    _, report, _ = check("lazy_registry", capsys=capsys, target="models/Mixer.py")
    model = one_model(report)
    assert model["parameters"] == (96 * 96 + 96) + (96 * 24 + 24)   # --seq_len 96 --pred_len 24, the defaults
    assert any("built as in exp/exp_" in n and "called from run.py:17: self.model_dict[self.args.model](self.args)"
               in n for n in model["notes"]), model["notes"]


def test_python2_implicit_relative_imports_resolve_beside_the_importing_file(capsys) -> None:
    # `import layers` in common/__init__.py meant common/layers.py in Python 2; Python 3 looks for a top-level
    # `layers` and the whole package failed to import ("install the package 'layers'")
    _, report, _ = check("python2_imports", capsys=capsys, target="agent.py")
    model = one_model(report)
    assert model["name"] == "model" and model["parameters"] == 8 * 32 + 32 + 32 * 4 + 4 + 4
    assert any(n.startswith("`import layers` at common/__init__.py:1, `import buffers` at common/__init__.py:2: "
                            "imported from the importing file's own folder, as Python 2 did") for n in model["notes"]), \
        model["notes"]
    _, report, _ = check("python2_imports", capsys=capsys, target="common/layers.py")
    assert one_model(report)["name"] == "ScaledLinear"
    assert "layers" not in sys.modules and not any(type(f).__name__ == "_BesideTheImporter" for f in sys.meta_path)


def test_a_class_called_through_an_alias_is_followed_to_its_calls(capsys) -> None:
    # `Exp = ExpForecast; exp = Exp(args)` binds the experiment's __init__, whose `super().__init__(args)` runs the
    # base's (`self.args = args`), whose `_build_model` builds the model; `Filter = Smoother;
    # smoother = Filter(args.enc_in)` is a site of Smoother
    _, report, _ = check("class_alias", capsys=capsys, target="models.py")
    assert not report["errors"], report["errors"]
    models = {m["name"]: m for m in report["models"]}
    assert set(models) == {"Forecaster", "Smoother"}
    assert models["Forecaster"]["parameters"] == 7 * 16 + 16 + 2 * 3 * 16 * 16 + 2 * 3 * 16 + 16 * 7 + 7
    assert any(n.startswith("built as in exp/forecast.py:3-10, called from main.py:17")
               for n in models["Forecaster"]["notes"]), models["Forecaster"]["notes"]
    assert models["Smoother"]["parameters"] == 7 * 7 * 5 + 7
    assert "built as in main.py:6-14: Filter(args.enc_in)" in models["Smoother"]["notes"]


def test_modules_without_a_known_layer_get_inputs_from_their_own_weights_or_any_tensor(capsys) -> None:
    # a linear layer kept as its own weights takes what its [out, in] weight multiplies; a hand-written norm what
    # its gain scales; an activation and an attention over given projections any tensor, one per argument (the
    # attention's `mask=None` traced as the None it is, not as a tensor that `if mask is not None:` would take)
    _, report, _ = check("layerless", capsys=capsys, target="layers.py")
    assert not report["errors"], report["errors"]
    models = {m["name"]: m for m in report["models"]}
    assert set(models) == {"noisy", "norm", "Swish", "ScaledAttention"}
    assert models["noisy"]["input_shapes"] == [[2, 12]] and models["noisy"]["parameters"] == 2 * 5 * 12 + 5
    assert "input shape [2, 12] (float32): the 12 features its first parameter `weight_mu` [5, 12] multiplies as " \
           "torch lays out a linear weight [out, in]" in models["noisy"]["notes"]
    assert models["norm"]["input_shapes"] == [[2, 8]]
    assert models["Swish"]["input_shapes"] == [[2, 16]] and models["Swish"]["tracer"] == "fx"
    assert models["ScaledAttention"]["input_shapes"] == [[2, 16]] * 3


def test_sizes_counted_from_data_that_is_not_here_are_stood_in_and_said(capsys) -> None:
    # the data a training script counts its sizes from (`features.shape[1]`, `labels.max().item() + 1`,
    # `len(vocab)`) is not in the repository: the architecture does not depend on their values, so it is built
    # with 100 for each, through a caller's frame too (the embedding a model builds with its `vocab_size`)
    _, report, _ = check("counted_sizes", capsys=capsys, target="graph.py")
    assert not report["errors"], report["errors"]
    models = {m["name"]: m for m in report["models"]}
    model = models["NodeClassifier"]
    assert model["parameters"] == 100 * 16 + 16 + 16 * 101 + 101
    assert any(n.startswith("built as in train.py:8-21: NodeClassifier(") and n.endswith(
        "(sizes counted from what the code could not read stood in: `features.shape[1]` = 100, "
        "`labels.max().item()` = 100 (train.py:20: FileNotFoundError: data/citations/nodes.content not found.))")
        for n in model["notes"]), model["notes"]
    # an assignment counting what failed (`opt.n_nodes = len(graph["nodes"])` after the pickle was not there)
    assert models["EdgeScorer"]["parameters"] == 100 * 12 + 12 + 1
    assert any(n.endswith("(sizes counted from what the code could not read stood in: `len(graph['nodes'])` = 100 "
                          "(score.py:11: FileNotFoundError: [Errno 2] No such file or directory: 'data/graph.pkl'))")
               for n in models["EdgeScorer"]["notes"]), models["EdgeScorer"]["notes"]
    _, report, _ = check("counted_sizes", capsys=capsys, target="text/embedding.py")
    model = one_model(report)
    assert model["parameters"] == 100 * 24 + 2 * 24     # the dim main.py gives, the vocabulary stood in
    assert any("called from main.py:19" in n and "`len(vocab)` = 100 (main.py:18: FileNotFoundError" in n
               for n in model["notes"]), model["notes"]


def test_a_part_whose_inputs_have_roles_gets_what_its_holder_feeds_it(capsys) -> None:
    # a block takes its sequence and a [batch, 1, length, length] mask; its attention the same: no guess from a
    # first Linear knows the mask, the repository's Encoder makes it; the attention's holder (Block) is a part too
    _, report, _ = check("holder_fed", capsys=capsys, target="attention.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 16, 32], [2, 1, 16, 16]]
    assert "inputs [2, 16, 32], [2, 1, 16, 16] as Block's forward feeds its MaskedAttention (block.py:Block)" \
        in model["notes"], model["notes"]
    assert model["tracer"] == "fx"
    _, report, _ = check("holder_fed", capsys=capsys, target="block.py")
    assert "inputs [2, 16, 32], [2, 1, 16, 16] as Encoder's forward feeds its Block (model.py:Encoder)" \
        in one_model(report)["notes"]


def test_a_part_no_code_builds_on_its_own_is_built_as_its_holder_builds_it(capsys) -> None:
    # `norm_layer=ScaleNorm` then `self.norm1 = norm_layer(dim)`: no call of ScaleNorm anywhere, its size is the
    # block's; the block (itself fed by the encoder) builds it and feeds it
    _, report, _ = check("holder_fed", capsys=capsys, target="norm.py")
    model = one_model(report)
    assert model["name"] == "ScaleNorm" and model["parameters"] == 2 * 32
    assert model["input_shapes"] == [[2, 16, 32]]
    assert "built as Block builds it, its first ScaleNorm (block.py:Block): no code of the repository builds " \
           "ScaleNorm on its own" in model["notes"], model["notes"]
    assert "inputs [2, 16, 32] as Block's forward feeds its ScaleNorm (block.py:Block)" in model["notes"]


def test_callers_are_found_through_a_package_that_reexports_the_class(capsys) -> None:
    # model.py imports Residual from the `layers` package, whose __init__.py re-exports it from residual.py: the
    # call there binds Residual's `size`, which ChannelNorm is built with
    _, report, _ = check("reexport", capsys=capsys, target="pkg/layers/norm.py")
    model = one_model(report)
    assert model["parameters"] == 20
    assert "built as in pkg/layers/residual.py:7-9, called from pkg/model.py:9: ChannelNorm(size)" in model["notes"]


def test_a_script_reading_a_file_relative_to_its_folder_is_run_from_its_folder(capsys) -> None:
    # the README runs `cd flow; python train.py -c config.json`; archlint runs from the repository's root, where
    # `config.json` is not: the site's script runs from its own folder, as `python train.py` beside it does
    before = os.getcwd()
    _, report, _ = check("relative_config", capsys=capsys, target="flow/glow.py")
    assert os.getcwd() == before
    models = {m["name"]: m for m in report["models"]}
    assert models["Flow"]["parameters"] == 3 * (3 * 16 * 3 + 16 + 16 * 6 * 3 + 6)
    assert "built as in flow/train.py:10 (with `-c config.json`): Flow(**flow_config)" in models["Flow"]["notes"], \
        models["Flow"]["notes"]


def test_a_shell_scripts_variables_are_expanded_in_the_command_lines_it_runs(capsys) -> None:
    # scripts/linear.sh sets `model_name=Linear`, `seq_len=336` and loops `for pred_len in 96 192`, then runs
    # `python -u run.py --model $model_name --seq_len $seq_len --pred_len ${pred_len}`: the registry keyed by the
    # required --model selects this module's Model, sized by the script's first pass
    _, report, _ = check("shell_variables", capsys=capsys, target="models/Linear.py")
    model = one_model(report)
    assert model["parameters"] == 336 * 96 + 96
    assert "built as in exp.py:5-11, called from run.py:12 (with `--model Linear --seq_len 336 --pred_len 96`): " \
           "model_dict[self.args.model].Model(self.args)" in model["notes"], model["notes"]
    assert model["input_shapes"] == [[2, 336, 16]]     # the window along axis 1, which the forward moves last


def test_launcher_lines_name_the_script_they_run() -> None:
    from archlint.load.command_line import _COMMAND
    line = "python -m torch.distributed.launch --nproc_per_node 8 --master_port 12345 main.py --cfg configs/t.yaml"
    assert _COMMAND.search(line).groups() == ("main.py", " --cfg configs/t.yaml")
    assert _COMMAND.search("torchrun --nproc_per_node=8 main.py --cfg x").group(1) == "main.py"
    assert _COMMAND.search("accelerate launch train.py --lr 1e-4").group(1) == "train.py"


def test_a_file_whose_module_level_code_reads_a_relative_path_is_run_from_where_it_is(capsys) -> None:
    # text_encoder.py reads symbols.txt at import, beside it: run from the repository's root, the import fails;
    # imported from its folder, it does
    before = os.getcwd()
    _, report, _ = check("relative_config", capsys=capsys, target="flow/text_encoder.py")
    assert os.getcwd() == before
    model = one_model(report)
    assert model["parameters"] == 5 * 8 + 8 * 8 * 5 + 8
    assert f"imported from flow{os.sep}, where the files its module-level code reads by relative paths are" \
        in model["notes"], model["notes"]


def test_a_forward_that_splits_its_input_before_its_first_layer_gets_the_sum_of_the_parts(capsys) -> None:
    # `torch.split(x, [self.points, self.views], dim=-1)`: the first Linear takes 3 features, the input has 6
    _, report, _ = check("split_input", capsys=capsys, target="field.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 6]] and model["tracer"] == "fx"
    assert "input shape [2, 6] (float32): the 6 features the forward splits its input into before its first layer " \
           "(of 3)" in model["notes"], model["notes"]


def test_a_name_the_installed_package_no_longer_has_is_a_version_conflict(tmp_path, capsys) -> None:
    # code written for an older pytest imports a name the installed one does not have, and its model uses it
    (tmp_path / "net.py").write_text("import torch\nfrom _pytest.python import gone_helper\n\n\n"
                                     "class Net(torch.nn.Module):\n    def __init__(self):\n"
                                     "        super().__init__()\n        self.fc = gone_helper(4)\n")
    code, out, _ = run_in(tmp_path, ["check", "net.py", "--format", "json"], capsys)
    [error] = json.loads(out)["errors"]
    assert code == 2 and error["cause"] == "version conflict"
    assert error["message"] == (f"the constructor uses gone_helper from _pytest.python, which the installed "
                                f"pytest {pytest.__version__} does not have at net.py:8: it was written for another "
                                f"version; install the version of pytest the repository was written for"), error


def test_a_submodule_the_installed_package_no_longer_has_is_a_version_conflict(tmp_path, capsys) -> None:
    # a model file written for an older pytest imports one of its modules that the installed one does not have
    # (`from timm.models.layers.helpers import to_2tuple` of a ViT written for timm 0.4)
    (tmp_path / "net.py").write_text("import torch\nfrom _pytest.gone_helpers import to_2tuple\n\n\n"
                                     "class Net(torch.nn.Module):\n    pass\n")
    code, out, _ = run_in(tmp_path, ["check", "net.py", "--format", "json"], capsys)
    [error] = json.loads(out)["errors"]
    assert code == 2 and error["cause"] == "version conflict"
    assert error["message"] == (f"cannot import: the code imports _pytest.gone_helpers, which the installed pytest "
                                f"{pytest.__version__} does not have at net.py:2: it was written for another version; "
                                f"install the version of pytest the repository was written for"), error


def test_a_series_kept_channels_last_gets_its_variables_last_and_its_time_features_beside(capsys) -> None:
    # the first conv's 7 channels are the series' variables on its last axis (the forward permutes them to
    # axis 1); the second argument reaches a Linear over 4 time features, on the same layout
    _, report, _ = check("channels_last", capsys=capsys, target="forecaster.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 28, 7], [2, 28, 4]], model["notes"]
    assert any("the first conv's 7 channels last" in note for note in model["notes"]), model["notes"]
    [field] = [f for f in model["findings"] if f["rule"] == "receptive-field"]
    assert "on a 28 input" in field["message"] and "along length" in field["message"], field["message"]


def test_a_sub_project_imports_its_own_packages_as_its_scripts_do(capsys) -> None:
    # forecast/ is a project inside the repository: its models import `layers.blocks` from forecast/, and
    # blocks.py imports `utils.masking` from forecast/utils/, though a utils.py sits beside it and the root has
    # a utils/ folder of its own (folders without __init__.py, as such repositories publish them)
    _, report, _ = check("subproject", capsys=capsys, target="forecast/layers/blocks.py")
    model = one_model(report)
    assert model["name"] == "CausalBlock" and model["parameters"] == 4 * 16 * 16 + 4 * 16 + 2 * 16, model


def test_a_forward_argument_used_only_as_a_condition_is_a_flag(capsys) -> None:
    # `forward(x, CUDA)` passes CUDA on to a helper that only tests it (`if CUDA: grid = grid.cuda()`): a tensor
    # there is ambiguous, the flag is given False (the CPU path)
    _, report, _ = check("flag_argument", capsys=capsys, target="detector.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 3, 224, 224]] and model["tracer"] == "fx", model   # traced as a constant
    assert any("`CUDA` given False (the forward uses it only as a condition)" in n for n in model["notes"]), model


def test_a_site_in_a_folder_without_init_imports_its_siblings_relatively(capsys) -> None:
    # Stem is built in models/net.py, which imports it with `from .parts import Stem`: the site runs as the module
    # models.net of the namespace package models/, so that import works there as it does for the repository
    _, report, _ = check("namespace_site", capsys=capsys, target="models/parts.py")
    model = one_model(report)
    assert model["name"] == "Stem" and model["parameters"] == 3 * 24 * 49 + 24 + 2 * 24, model
    assert any("models/net.py:7" in n for n in model["notes"]), model["notes"]


def test_the_inputs_a_readme_feeds_a_model_it_moved_to_a_device(capsys) -> None:
    # `model = SpeechEncoder(...).to(device)` binds the model built at the site: what the README then feeds it (a
    # spectrogram the forward unsqueezes itself, and the lengths) are its inputs
    _, report, _ = check("readme_device", capsys=capsys, target="encoder.py")
    model = one_model(report)
    assert model["input_shapes"] == [[3, 200, 40], [3]], model["notes"]
    assert "input [3, 200, 40], [3] as the code at README.md:12 feeds it" in model["notes"], model["notes"]


def test_ids_as_long_as_the_model_s_position_table(capsys) -> None:
    # the learned positions [20, 32] are added to every embedded sequence: only sequences of 20 ids run
    _, report, _ = check("position_table", capsys=capsys, target="text_encoder.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 20]], model["notes"]
    assert "input shape [2, 20] (int64 ids below 1000): the 20 positions of its table `position` (the default 16 " \
           "did not run)" in model["notes"], model["notes"]


def test_node_features_and_the_graph_s_adjacency(capsys) -> None:
    # forward(x, adj): one row per node (12 features, read from the first weight [in, out]) and a square matrix
    # over those rows
    _, report, _ = check("graph_nodes", capsys=capsys, target="gcn.py")
    [gcn] = [m for m in report["models"] if m["name"] == "GCN"]
    assert gcn["input_shapes"] == [[2, 12], [2, 2]], gcn["notes"]
    assert any("adj: [2, 2] float32 (the adjacency of 2 nodes, one per row of x)" in n for n in gcn["notes"]), gcn


def test_a_script_written_for_a_launcher_runs_as_one_process_of_it(capsys) -> None:
    # the README's line goes on after a backslash followed by a space; the script reads the rank its launcher sets
    # (os.environ["LOCAL_RANK"]), and asks whether it was launched as several ("WORLD_SIZE" in os.environ): the
    # read gets a one-process launch's 0, the question its answer here (no)
    _, report, _ = check("launched", capsys=capsys, target="net.py")
    model = one_model(report)
    assert model["parameters"] == 3 * 24 * 9 + 24 + 24 * 10 + 10, model
    assert any(n.startswith("built as in train.py:16-18 (with `--width 24`)") and "LOCAL_RANK=0 (a one-process launch)"
               in n for n in model["notes"]), model["notes"]
    assert "LOCAL_RANK" not in os.environ


def test_a_script_that_makes_a_process_group_builds_its_model_as_one_process(capsys) -> None:
    # train.py asks for a process group before it builds the model: refused (a group's store would wait for peers,
    # and a group made here would outlive the lint), its fallback of one process runs
    import torch.distributed as dist
    _, report, _ = check("process_group", capsys=capsys, target="net.py")
    model = one_model(report)
    assert model["parameters"] == 3 * 32 * 9 + 32 + 32 * 10 + 10, model
    assert any(n.startswith("built as in train.py:") for n in model["notes"]), model["notes"]
    assert not (dist.is_available() and dist.is_initialized())


def test_a_registry_keyed_by_a_config_file_builds_each_model_it_holds(capsys) -> None:
    # train.py's helper `get_instance(module, name, config, *args)` looks a class up by the config file's "type":
    # followed through the call that passes the models package (not the one passing the data loaders); the class
    # count the dataset would give stands in, the config's arguments another model does not take stay out, and a
    # default `pretrained=True` (a checkpoint that is not here) is turned off
    _, report, _ = check("config_registry", capsys=capsys, target="models/segnet.py")
    model = one_model(report)
    assert model["parameters"] == 3 * 16 * 9 + 16 + 2 * 16 + 16 * 100 + 100, model   # width 16 from config.json
    [note] = [n for n in model["notes"] if n.startswith("built as in train.py:9")]
    assert "pretrained=False" in note and "`train_loader.dataset.num_classes` = 100" in note, note
    _, report, _ = check("config_registry", capsys=capsys, target="models/tiny.py")
    model = one_model(report)
    assert model["parameters"] == 3 * 4 * 9 + 4 + 4 * 4 * 9 + 4 + 4 * 100 + 100, model


def test_a_site_whose_code_ends_the_program_is_a_failed_site_not_a_silent_exit(capsys) -> None:
    # Net's constructor calls sys.exit when the dataset's folder is not set: the other model of the file is still
    # linted, and the exit is said where the repository builds Net
    code, report, _ = check("exiting_builder", capsys=capsys, target="net.py")
    assert [m["name"] for m in report["models"]] == ["Head"]
    [error] = report["errors"]
    assert "train.py:4: the code there ended the program" in error["message"] and "DATA_ROOT" in error["message"]


def test_a_configuration_tree_the_constructor_reads_is_given_from_the_repositorys_file(capsys) -> None:
    # Denoiser(config) reads config.model.ch, config.model.in_channels, config.data.image_size; main.py requires
    # --config and writes a log folder, so its site fails; configs/small.yml and configs/large.yml both hold the
    # three paths: the smaller is given as nested namespaces, and its image size sizes the input. Head(head) reads
    # head["features"] and head["classes"]: the `model.head` table, as a dict
    _, report, _ = check("config_tree", capsys=capsys, target="models/unet.py")
    assert not report["errors"], report["errors"]
    denoiser, head = report["models"]
    assert denoiser["parameters"] == 1 * 8 * 9 + 8 + 8 * 1 * 9 + 1 and denoiser["input_shapes"] == [[2, 1, 16, 16]]
    assert "built with `config` from configs/small.yml: the file of the repository that holds all 3 settings the " \
           "constructor reads" in denoiser["notes"], denoiser["notes"]
    assert any("config.data.image_size=16" in n for n in denoiser["notes"]), denoiser["notes"]
    assert head["parameters"] == 8 * 10 + 10
    assert any(n.startswith("built with `head` from configs/small.yml (its `model.head` table)") for n in head["notes"])


def test_what_a_constructor_reads_of_a_configuration_parameter() -> None:
    from archlint.load.config_files import tree_reads

    class Model:
        def __init__(self, config, width=4):
            model_config = config.model
            self.ch = model_config.ch
            self.mult = tuple(config.model.ch_mult)
            if config.get("dropout"):   # a method of the tree, not a setting
                pass
            self.size = config.data.image_size
            self.width = width

    reads = tree_reads(Model, "config")
    assert reads.paths == {("model", "ch"), ("model", "ch_mult"), ("data", "image_size")} and reads.by_attribute
    assert tree_reads(Model, "width") is None


@pytest.mark.parametrize("expression, counts", [
    ("len(vocab)", True), ("x.shape[1]", True), ("train_loader.dataset.num_classes", True),
    ("dataset_train.num_classes()", True), ("loader.n_tokens", True), ("vocab.vocab_size", True),
    ("dataset.name", False), ("loader.dataset", False), ("dataset.classes()", False), ("model.numel", False),
    ("dataset.numclasses", True), ("env.action_space.n", True), ("env.name", False),
])
def test_what_reads_as_a_count_that_may_stand_in(expression: str, counts: bool) -> None:
    import ast
    from archlint.load.sites import _counts
    assert _counts(ast.parse(expression, mode="eval").body) is counts


def test_the_site_that_got_as_far_as_the_models_own_code_is_the_one_said(capsys) -> None:
    # a_demo.py (nearest by name) fails reading a file before the call; train.py's call runs Net's constructor,
    # which raises on a name the repository never defines: that is the cause said, the other site counted
    code, report, _ = check("reached_site", capsys=capsys, target="net.py")
    [error] = report["errors"]
    assert "failed at train.py:3: NameError: name 'freeze_backbone' is not defined at net.py:10 (1 other site " \
           "failed too)" in error["message"], error["message"]


def test_a_model_built_directly_gets_what_the_repositorys_training_loop_feeds_it(capsys) -> None:
    # TextRNN() needs no arguments, and no guess from its RNN runs its forward(hidden, X); train.py feeds it in the
    # first step of its training loop: those tensors, made by running the statements before the call once
    _, report, _ = check("loop_fed", capsys=capsys, target="model.py")
    model = one_model(report)
    assert model["input_shapes"] == [[1, 3, 5], [3, 2, 7]], model
    assert "input [1, 3, 5], [3, 2, 7] as the code at train.py:11 feeds it" in model["notes"], model["notes"]


def test_fed_tensors_whose_batch_cannot_be_enlarged_are_taken_exactly_as_fed(capsys) -> None:
    # a batch of 1 is repeated to 2 for the lint, but the RNN's hidden state keeps its batch on its second axis:
    # [2, 1, 16] does not run, the tensors exactly as the script feeds them do
    _, report, _ = check("loop_fed", capsys=capsys, target="seq2seq.py")
    model = one_model(report)
    assert model["input_shapes"] == [[1, 5, 11], [1, 1, 16]], model
    assert any(n.startswith("input [1, 5, 11], [1, 1, 16] exactly as the code at seq2seq.py:21 feeds it")
               for n in model["notes"]), model["notes"]


def test_a_generator_declaring_the_image_size_it_makes_gets_its_noise_vector(capsys) -> None:
    # input_size=32 reads as the image it takes (einops ViTs start with a Linear too): that does not run, and the
    # first layer's own shape, a vector of 100 features, does
    _, report, _ = check("declared_generator", capsys=capsys, target="gan.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 100]], model
    assert "input shape [2, 100] (float32): the first layer's 100 features (an image of the size its constructor " \
           "declares did not run)" in model["notes"], model["notes"]


def test_a_forward_that_only_raises_not_implemented_is_no_forward(capsys) -> None:
    # ActorCritic is used through act() and evaluate(); its forward raises NotImplementedError: as for a class
    # with no forward, it is linted through the method that uses all of its parts (not read as a misspelt forward)
    _, report, _ = check("container_forward", capsys=capsys, target="policy.py")
    model = one_model(report)
    assert model["parameters"] == 8 * 64 + 64 + 64 * 4 + 4 + 8 * 64 + 64 + 64 + 1
    assert "ActorCritic has no forward(); linted through ActorCritic.evaluate(), the method that uses all of its " \
           "parts" in model["notes"], model["notes"]


def test_an_abstract_base_class_is_said_to_be_one(capsys) -> None:
    code, report, _ = check("container_forward", capsys=capsys, target="base.py")
    [error] = report["errors"]
    assert code == 2 and error["cause"] == "no model found"
    assert error["message"] == "BaseModel implements no forward() and holds no layers: an abstract base class the " \
                               "repository's models extend, nothing to lint (lint a subclass)"


def test_a_script_requiring_its_configuration_file_is_given_the_repositorys_smallest(capsys) -> None:
    # trainer.py requires -c/--config (a YAML its HParam reads) and -n/--name: the config is the repository's file
    # nearest the script with the smallest numbers (default.yaml's width 32, not large.yaml's 512); the name a dot
    _, report, _ = check("config_required", capsys=capsys, target="model/generator.py")
    model = one_model(report)
    assert model["parameters"] == 80 * 32 * 7 + 32 + 32 * 7 + 1, model
    assert any(n.startswith("built as in trainer.py:7-12") and "-c='config/default.yaml', -n='.'" in n
               for n in model["notes"]), model["notes"]


def test_a_site_that_fails_on_a_missing_package_is_counted_as_the_environments(capsys) -> None:
    # train.py builds Net from a configuration library that is not installed: the model is not built, and the
    # cause is the environment's (what `pip install` fixes), not the repository's code
    code, report, _ = check("site_missing_package", capsys=capsys, target="net.py")
    [error] = report["errors"]
    assert code == 2 and error["cause"] == "missing package", error
    assert "failed at train.py:1: ModuleNotFoundError: No module named 'archlint_fixture_absent_configs'" \
           in error["message"], error["message"]


def test_a_forecasters_inputs_have_the_lengths_its_configuration_gave_it(capsys) -> None:
    # forward(x_enc, x_mark_enc, x_dec, x_mark_dec): the window of `seq_len` steps (a Linear along the steps pins
    # it), its 4 hourly time features, the decoder's `label_len + pred_len` steps with theirs; no layer's weights
    # say 36, the sum of two lengths the model keeps
    _, report, _ = check("forecaster", capsys=capsys, target="models/Former.py")
    model = one_model(report)
    assert model["parameters"] == (5 * 16 * 3 + 16) + 2 * (4 * 16 + 16) + (48 + 1) + (5 * 16 + 16) + (16 * 5 + 5)
    assert model["input_shapes"] == [[2, 48, 5], [2, 48, 4], [2, 48, 5], [2, 36, 4]]
    assert any(n.startswith("inputs x_enc: [2, 48, 5], x_mark_enc: [2, 48, 4], x_dec: [2, 48, 5], x_mark_dec: "
                            "[2, 36, 4]: windows of the lengths the model keeps (`seq_len` 48, `label_len` + "
                            "`pred_len` 36)") for n in model["notes"]), model["notes"]


def test_a_zoo_script_checking_for_its_models_folder_runs_from_its_own_folder(capsys) -> None:
    # run.py looks for `models/` relative to where it runs (`if os.path.isdir("models")`): linted from inside
    # models/, the site in ../run.py runs from run.py's folder, where the folder is
    code, out, _ = run_in(CASES / "forecaster" / "models", ["check", "Former.py", "--format", "json", "--no-probe"],
                          capsys)
    model = one_model(json.loads(out))
    assert any(n.startswith("built as in ../exp/exp_forecast.py:5-6, called from ../run.py:15") for n in model["notes"]), \
        model["notes"]


def test_a_trainer_whose_data_cannot_be_loaded_still_builds_its_generator(capsys) -> None:
    # main.py: `Trainer(data.loader(), config)`; the loader fails with no dataset here (its `data` is unbound for
    # the default dataset); the trainer only keeps it, and builds its generator in `build_model` from the attributes
    # `__init__` set from config. The generator starts from a code viewed as a 1×1 map (`z.view(b, c, 1, 1)`)
    _, report, _ = check("trainer_loader", capsys=capsys, target="models.py")
    model = one_model(report)
    assert model["parameters"] == (16 * 32 * 16 + 32) + (32 * 16 * 16 + 16) + (16 * 8 * 16 + 8) + (8 * 4 * 16 + 4) + \
        (4 * 3 * 9 + 3)   # --imsize 32: 4 -> 8 -> 16 -> 32
    assert "built as in trainer.py:5-13, called from main.py:8: Generator(self.imsize, self.z_dim, self.conv_dim)" \
        in model["notes"], model["notes"]
    assert model["input_shapes"] == [[2, 16]]
    assert any(n.startswith("input shape [2, 16] (float32): a vector of the first layer's 16 channels per sample")
               for n in model["notes"]), model["notes"]


def test_a_wrapper_handing_its_arguments_to_the_wrapped_layers_forward_is_followed() -> None:
    """A spectral-norm wrapper's `forward(self, *args)` calls `self.module.forward(*args)`: the image reaches the
    wrapped conv, not the attention block's conv registered after it."""
    import torch.nn as nn

    from archlint.load.first_layer import first_layer

    class Normalized(nn.Module):
        def __init__(self, module: nn.Module) -> None:
            super().__init__()
            self.module = module

        def forward(self, *args):
            return self.module.forward(*args)

    class Critic(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1 = nn.Sequential(Normalized(nn.Conv2d(3, 8, 4, 2, 1)), nn.LeakyReLU(0.1))
            self.attn = nn.Conv2d(8, 8, 1)

        def forward(self, x):
            out = self.l1(x)
            return self.attn(out)

    model = Critic()
    assert first_layer(model) is model.l1[0].module


def test_a_factory_handing_its_keywords_to_one_whose_default_loads_a_backbone_is_built_without_it(capsys) -> None:
    # `get_segnet_citys(**kwargs)` returns `get_segnet("citys", **kwargs)`, whose `pretrained_base=True` loads the
    # backbone from a model store that makes its cache folder (a write archlint refuses): the keyword is handed
    # down as no weights, and the architecture is built
    _, report, _ = check("pretrained_base", capsys=capsys, target="segnet.py")
    model = one_model(report)
    assert model["name"] == "get_segnet_citys"
    assert model["parameters"] == (3 * 8 * 9 + 8) + (8 * 16 * 9 + 16) + (16 * 19 + 19)   # 19 classes: citys
    assert any(n.startswith("called with pretrained_base=False: the architecture, without the weights its default "
                            "loads") for n in model["notes"]), model["notes"]
    assert not os.path.exists(os.path.expanduser("~/.torch/models/backbone.pth"))


@pytest.mark.parametrize("use", [lambda v: v[0], len, lambda v: v // 2, lambda v: 2 * v, lambda v: v < 3, int])
def test_an_unavailable_argument_says_why_however_it_is_used(use) -> None:
    # `Agent(env.observation_space.shape, env.action_space.n)` with gym not installed: the agent's `frames[0]`,
    # `num_actions // 2` raise the cause of the argument, not Python's words about the stand-in object
    from archlint.load.sites import Failure, _Unavailable

    unavailable = _Unavailable("env.action_space.n", Failure("main.py:12: ModuleNotFoundError: No module named 'gym'"))
    with pytest.raises(RuntimeError, match=r"^`env.action_space.n` could not be computed \(main.py:12: "
                                           r"ModuleNotFoundError: No module named 'gym'\)$"):
        use(unavailable)


def test_a_space_to_depth_stem_gets_the_channels_its_conv_takes_divided_by_four(tmp_path, capsys) -> None:
    # a detector's Focus stem stacks the four pixels of each 2×2 cell as channels before its first conv (12 = 4 × 3):
    # the guess of 12 channels arrives as 48; what arrives per channel given (4) is measured, and 3 channels fit
    (tmp_path / "focus.py").write_text(
        "import torch\nfrom torch import nn\n\n\n"
        "class Focus(nn.Module):\n"
        "    def __init__(self, channels=3, width=16):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(channels * 4, width, 3, padding=1)\n"
        "        self.head = nn.Conv2d(width, 5, 1)\n\n"
        "    def forward(self, x):\n"
        "        cells = torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], dim=1)\n"
        "        return self.head(torch.relu(self.conv(cells)))\n")
    code, out, _ = run_in(tmp_path, ["check", "focus.py", "--format", "json", "--no-probe"], capsys)
    model = one_model(json.loads(out))
    assert model["input_shapes"] == [[2, 3, 224, 224]], model["notes"]
    assert any(n.startswith("input [2, 3, 224, 224]: each argument sized so that the first convolution or linear "
                            "layer it reaches receives the channels") for n in model["notes"]), model["notes"]


# -- a classmethod of a base model class builds that class, not its subclass of the same name -------------------

def test_a_base_classmethod_that_returns_cls_is_not_built_for_a_subclass_target() -> None:
    # lit-llama's adapter.LLaMA subclasses model.LLaMA; `model.LLaMA.from_name("7B")` in a script builds the base
    # (27 GB of fp32 weights) and can never be the adapter: it is recognised before anything is built
    from torch import nn

    from archlint.load.sites import SiteTarget, _builds_another_class

    class Base(nn.Module):
        registry: dict[str, type] = {}

        @classmethod
        def from_name(cls, name: str) -> "Base":
            model = cls()
            return model

        @classmethod
        def create(cls, kind: str) -> "Base":   # dispatches to a registered subclass: must be built to know
            return Base.registry[kind]()

    class Variant(Base):
        pass

    target = SiteTarget(Variant, Path(__file__), sys.modules[__name__])
    assert _builds_another_class(Base.from_name, target)
    assert not _builds_another_class(Variant.from_name, target)   # inherited: `cls` is the target
    assert not _builds_another_class(Base.create, target)
    assert not _builds_another_class(Variant, target)


def test_a_package_imported_from_a_root_above_a_folder_of_folders_whose_import_makes_folders(tmp_path, capsys) -> None:
    # models/definitions/encoder.py does `from utils.constants import *`, run from the repository's root: with no
    # .git or project file, the root is found past `models/` (it holds only a folder) at the README; constants.py
    # makes the checkpoint and log folders as it is imported (a fresh clone has none): let pass, not made
    shutil.copytree(CASES / "made_folders", tmp_path / "made_folders")
    (tmp_path / "made_folders" / "setup.cfg").unlink(missing_ok=True)
    code, out, _ = run_in(tmp_path / "made_folders" / "models" / "definitions",
                          ["check", "encoder.py", "--format", "json", "--no-probe"], capsys)
    report = json.loads(out)
    assert not report["errors"], report["errors"]
    assert one_model(report)["parameters"] == 2 * (16 * 16 + 16)
    assert not (tmp_path / "made_folders" / "models" / "checkpoints").exists()
    assert not (tmp_path / "made_folders" / "runs").exists()


def test_a_none_the_site_gives_a_required_forward_parameter_is_kept(capsys) -> None:
    # `translator(source_ids, target_ids, source_mask=None, target_mask=None)`: the masks are required parameters
    # the forward takes None for; the call feeds the model, its Nones included
    _, report, _ = check("fed_none", capsys=capsys, target="translator.py")
    model = one_model(report)
    assert model["input_shapes"][:2] == [[3, 5], [3, 7]], model["input_shapes"]
    assert any(n.startswith("input [3, 5], [3, 7], None, None as the code at translator.py:28 feeds it")
               for n in model["notes"]), model["notes"]


def test_inputs_take_the_ranks_the_forward_unpacks_their_shapes_into(capsys) -> None:
    # `B, C, Fr, T1 = x.shape; _, _, T2 = xt.shape`: Python refuses any other count, so x has four dimensions and
    # xt three; each is sized by the layer it reaches (32 features), channels first as the forward reads them
    _, report, _ = check("ranked", capsys=capsys, target="cross.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 32, 16, 16], [2, 32, 16]], model["input_shapes"]
    assert any(n.startswith("inputs x: [2, 32, 16, 16], xt: [2, 32, 16]: the ranks the forward's code unpacks "
                            "(x 4, xt 3)") for n in model["notes"]), model["notes"]


def test_a_rank_is_read_before_the_argument_is_bound_to_another_tensor() -> None:
    from torch import nn

    from archlint.load.first_layer import declared_ranks

    class Patches(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Conv2d(3, 8, 4, stride=4)

        def forward(self, x, mask):
            x = self.embed(x).flatten(2).transpose(1, 2)
            B, N, C = x.shape          # the patches' rank, not the image's
            return self.head(x, mask)

        def head(self, tokens, mask):
            b, n = mask.shape          # handed on: the forward's `mask`
            return tokens * mask[..., None]

    assert declared_ranks(Patches()) == {"mask": 2}


def test_a_script_that_exits_as_it_is_imported_is_linted_from_its_definitions(capsys) -> None:
    # `sys.exit(1)` when there is no GPU, after the class: the class is there all the same, and the exit is said
    _, report, _ = check("exiting_script", capsys=capsys, target="train_gpu.py")
    model = one_model(report)
    assert model["name"] == "Classifier" and model["parameters"] == (3 * 8 * 9 + 8) + (8 * 10 + 10)
    assert any("sys.exit(1)" in n and "train_gpu.py:19" in n for n in model["notes"]), model["notes"]


@pytest.mark.parametrize("model_name", ["DetectionHead", "Neck"])
def test_a_list_of_feature_maps_one_per_level_a_module_list_walks(capsys, model_name) -> None:
    # `for k, (cls_conv, x) in enumerate(zip(self.cls_convs, xin)): x = self.stems[k](x)` and
    # `[conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)]`: a map per level, with the channels of the
    # conv each level's map reaches, each level half the side of the last
    _, report, _ = check("pyramid", capsys=capsys, target=f"heads.py:{model_name}")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 32, 64, 64], [2, 64, 32, 32], [2, 128, 16, 16]], model["input_shapes"]
    assert any(n.startswith("input [[2, 32, 64, 64], [2, 64, 32, 32], [2, 128, 16, 16]]: a list of feature maps, "
                            "one per level") for n in model["notes"]), model["notes"]


def test_a_site_in_a_namespace_packages_module_runs_with_its_package_importable(capsys) -> None:
    # run.py (the root) imports `prep.prep`, whose Frontend builds the models: with prep/ itself on sys.path, its
    # prep.py would hide the package `prep` the script imports. The README's command line gives the config file;
    # the script's defaults (no config) fail first, at a KeyError, which says less than what the README's
    # command line got to: Spectrogram is built, and Vocoder's constructor needs a package this machine lacks
    _, report, _ = check("namespace_caller", capsys=capsys, target="audio/stft.py")
    models = {m["name"]: m for m in report["models"]}
    assert models["Spectrogram"]["parameters"] == 64 * 16 + 16
    assert any(n.startswith("built as in prep/prep.py:") and "(with `config/front.yaml`)" in n
               for n in models["Spectrogram"]["notes"]), models["Spectrogram"]["notes"]
    [error] = report["errors"]
    assert "Vocoder" in error["target"] and "vocoder_kernels_not_installed" in error["message"], error
    assert error["cause"] == "missing package" and "KeyError" not in error["message"]


def test_a_part_whose_holder_builds_it_but_does_not_run_is_linted_on_its_own_inputs(capsys, monkeypatch) -> None:
    # ScaleNorm's size comes from Block (`norm_layer(dim)`); when no input the holder is given runs its forward
    # (a synthesiser taking lengths and the longest of them as a Python int), the part is still the holder's
    # instance, on inputs guessed from its own parameters
    from archlint.run import holder_inputs

    monkeypatch.setattr(holder_inputs, "_first_call", lambda holder, inputs, part: None)
    _, report, _ = check("holder_fed", capsys=capsys, target="norm.py")
    model = one_model(report)
    assert model["parameters"] == 2 * 32
    assert "built as Block builds it, its first ScaleNorm (block.py:Block): no code of the repository builds " \
           "ScaleNorm on its own" in model["notes"], model["notes"]
    assert any(n.endswith("(Block's forward did not run on the inputs tried, so it did not feed its ScaleNorm)")
               for n in model["notes"]), model["notes"]


def test_an_argument_the_forward_makes_a_range_of_is_a_size_beside_lengths(capsys) -> None:
    # `torch.arange(0, longest)` in a helper the forward hands it to: `longest` is a Python int, and beside it the
    # texts' lengths are an argument's kind
    _, report, _ = check("size_argument", capsys=capsys, target="synthesiser.py")
    model = one_model(report)
    note = next(n for n in model["notes"] if n.startswith("inputs texts:"))
    assert note.startswith("inputs texts: [2, 16] int64, lengths: [2] int64"), note
    assert "longest: 16 (a size: the forward makes a range or a shape of it)" in note, note
    assert model["input_shapes"][:2] == [[2, 16], [2]], model["input_shapes"]


def test_size_arguments_are_read_through_the_functions_the_forward_hands_them_to() -> None:
    import importlib.util

    from archlint.load.first_layer import size_arguments

    spec = importlib.util.spec_from_file_location("synthesiser_case", CASES / "size_argument" / "synthesiser.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert size_arguments(module.Synthesiser()) == {2}


def test_a_file_whose_import_of_its_own_module_exits_is_linted_from_its_definitions(capsys) -> None:
    # version_check.py compares version strings as text and exits under a new torchvision; detector.py's import of
    # it exits too: its classes are there all the same (the import statement left out), and the exit is said
    _, report, _ = check("exiting_script", capsys=capsys, target="detector.py")
    model = one_model(report)
    assert model["name"] == "Head" and model["parameters"] == 8 * 16 * 9 + 16
    assert any("sys.exit(-1)" in n for n in model["notes"]), model["notes"]


def test_a_parameter_that_defaults_to_none_but_is_needed_gets_a_kind(capsys) -> None:
    # `forward(x, time=None, y=None)` raising when a time-conditioned model gets no time: leaving it None is tried
    # first, then each None-default parameter gets a kind (a vector of timesteps runs)
    _, report, _ = check("optional_time", capsys=capsys, target="unet.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 3, 224, 224], [2]], model["input_shapes"]
    assert any(n.startswith("inputs x: [2, 3, 224, 224] float32, time: [2] float32 (a vector (timesteps))")
               for n in model["notes"]), model["notes"]


def test_a_part_imported_with_a_star_import_is_found_in_its_holder(capsys) -> None:
    # network.py does `from gate import *`: ChannelGate is gate.py's, which the star import binds, so Block (and
    # the network holding it) are its holders and it is built and fed as they do
    _, report, _ = check("star_import", capsys=capsys, target="gate.py")
    model = one_model(report)
    assert model["parameters"] == (16 * 4 + 4) + (4 * 16 + 16)
    assert any(n.startswith("built as Block builds it, its first ChannelGate") for n in model["notes"]), model["notes"]


def test_a_star_import_binds_the_modules_public_names(tmp_path) -> None:
    import ast

    from archlint.load.imports import Origin, imported_names

    (tmp_path / "parts.py").write_text("__all__ = ['Gate']\nclass Gate: ...\nclass Other: ...\n")
    (tmp_path / "blocks.py").write_text("def helper(): ...\nclass Block: ...\n_private = 1\n")
    document = tmp_path / "model.py"
    document.write_text("from parts import *\nfrom blocks import *\n")
    found = imported_names(document, ast.parse(document.read_text()), tmp_path)
    assert found["Gate"] == [Origin((tmp_path / "parts.py").resolve(), "Gate")] and "Other" not in found
    assert {"helper", "Block"} <= found.keys() and "_private" not in found


def test_a_package_the_model_never_uses_does_not_stop_its_lint(capsys) -> None:
    # board.py imports `experiment_tracker`, which is not installed: Python would stop the whole import there.
    # Net never uses it and is linted (said so); TrackedNet builds the logger and PlottedNet's forward uses it:
    # each says it needs the package, where it is used, as the missing package the file lacks
    assert importlib.util.find_spec("experiment_tracker") is None
    _, report, _ = check("absent_package", capsys=capsys, target="model.py")
    [net] = report["models"]
    assert net["name"] == "Net" and net["parameters"] == 3 * 8 * 9 + 8 + 8 * 10 + 10
    assert any(n.startswith("linted without packages this machine lacks: 'experiment_tracker' (imported at board.py:2)")
               and n.endswith("never used") for n in net["notes"]), net["notes"]
    errors = {e["target"].rpartition(":")[2]: e for e in report["errors"]}
    assert errors.keys() == {"TrackedNet", "PlottedNet"}, report["errors"]
    assert all(e["cause"] == "missing package" for e in errors.values())
    assert "the constructor needs the package 'experiment_tracker'" in errors["TrackedNet"]["message"]
    assert "board.py:8" in errors["TrackedNet"]["message"]
    assert "the forward needs the package 'experiment_tracker'" in errors["PlottedNet"]["message"]
    assert "board.py:11" in errors["PlottedNet"]["message"]
    assert "experiment_tracker" not in sys.modules


def test_placeholders_answer_only_the_users_imports(tmp_path) -> None:
    from archlint.load.absent import AbsentPackages, standing_in

    user = tmp_path / "user.py"
    user.write_text("import experiment_tracker.plots as plots\nwriter = experiment_tracker.plots.Writer\n")
    packages = AbsentPackages()
    assert packages.add("experiment_tracker") and not packages.add("experiment_tracker") and not packages.add(None)
    namespace: dict = {}
    with standing_in(packages, lambda file: file == str(user)):
        exec(compile("import experiment_tracker\n" + user.read_text(), str(user), "exec"), namespace)
        # a library asking whether the package is installed still hears that it is not
        assert importlib.util.find_spec("experiment_tracker.other") is None
        with pytest.raises(ModuleNotFoundError, match="needed for experiment_tracker.plots.Writer") as raised:
            namespace["writer"](1)
        assert raised.value.name == "experiment_tracker"
        with pytest.raises(ModuleNotFoundError):
            class Subclass(namespace["plots"].Base):   # noqa: F841 - subclassing uses the package too
                pass
    assert packages.used_at["experiment_tracker"].startswith(__file__)
    assert not any(name.startswith("experiment_tracker") for name in sys.modules)


def test_the_image_size_a_part_keeps_sizes_the_input(capsys) -> None:
    # TinyViT's size comes from a plain settings object; its patch embedding keeps `self.img_size`, the size it was
    # built for, and asserts it (80 px: not one of the common sizes a search would try)
    _, report, _ = check("kept_size", capsys=capsys, target="vit.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 3, 80, 80]], model["input_shapes"]
    assert any("the img_size=(80, 80) patch_embed keeps" in n for n in model["notes"]), model["notes"]


def test_maps_are_sized_so_the_first_linear_layer_receives_its_features(capsys) -> None:
    # 84x84 is no common image size; the head's 7·7·64 features after the convs say it (the smallest side that
    # gives them: 84 to 87 all do)
    _, report, _ = check("frames", capsys=capsys, target="dqn.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 4, 84, 84]], model["input_shapes"]
    assert any("receives the 3136 features it takes" in n for n in model["notes"]), model["notes"]


def test_a_forward_that_adds_the_axis_its_first_convolution_reads_gets_one_axis_fewer(capsys) -> None:
    # EdgeConvNet's Conv2d(6, ...) reads (batch, 6, points, neighbours) its forward builds from a (batch, 3,
    # points) cloud, with an index tensor it asks for on CUDA (kept on the CPU; on meta in the meta forwards)
    _, report, _ = check("point_cloud", capsys=capsys, target="edgeconv.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 3, 224]], model["input_shapes"]
    assert any(n.startswith("input [2, 3, 224]: one axis fewer than the first convolution takes")
               for n in model["notes"]), model["notes"]
    assert any("CUDA at edgeconv.py:15" in n for n in model["notes"]), model["notes"]


def test_a_class_of_the_same_name_with_other_arguments_is_not_a_site_of_the_model(capsys) -> None:
    # build.py's Wrapper builds detector/model.py's Encoder(level, False): backbones/encoder.py's Encoder(blocks=None,
    # width=8) does not take `level`, so that call is no construction site of it; its own failure is the answer
    _, report, _ = check("namesake", capsys=capsys, target="backbones/encoder.py")
    [error] = report["errors"]
    assert error["message"].startswith("constructor raised AssertionError: blocks should be a list"), error
    assert "build.py" not in error["message"] and "code that builds it" not in error["message"], error


def test_a_site_in_a_function_taking_star_arguments_runs_with_them_empty(capsys) -> None:
    # builder.py's build(*args, **kwargs) reads kwargs.get("width", 16) before it builds Net: run as if called
    # bare, **kwargs is an empty dict (it was unbound: a NameError)
    _, report, _ = check("kwargs_site", capsys=capsys, target="model.py")
    model = one_model(report)
    assert model["parameters"] == 3 * 16 * 9 + 16
    assert any(n.startswith("built as in builder.py:") for n in model["notes"]), model["notes"]


def test_a_script_kept_below_the_repository_imports_its_packages_from_where_it_ran(tmp_path, capsys) -> None:
    # a copy of a training script saved in log/sem_seg/run/ (as training logs keep them) imports
    # `models.blocks`, the repository's own namespace package two folders of folders above: the script was run
    # from the repository's root, and the lint imports it from there (no package to install, none stood in for)
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "README.md").write_text("# point clouds\n")
    (project / "models" / "blocks.py").write_text(
        "from torch import nn\n\n\nclass Block(nn.Module):\n    def __init__(self, width):\n        super().__init__()\n"
        "        self.conv = nn.Conv1d(width, width, 1)\n\n    def forward(self, x):\n        return self.conv(x)\n")
    run = project / "log" / "sem_seg" / "run"
    run.mkdir(parents=True)
    (run / "net.py").write_text(
        "from torch import nn\nfrom models.blocks import Block\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.block = Block(4)\n\n    def forward(self, x):\n"
        "        return self.block(x)\n")
    code, out, _ = run_in(run, ["check", "net.py", "--format", "json", "--no-probe"], capsys)
    model = one_model(json.loads(out))
    assert model["name"] == "Net" and model["parameters"] == 4 * 4 + 4
    assert not any("placeholders" in n for n in model["notes"]), model["notes"]


def test_inputs_the_code_feeds_that_do_not_run_give_way_to_a_guess(capsys) -> None:
    # the file's own __main__ builds Segmenter(13) and feeds it 3 features a point where its first layer takes 9:
    # the model is built as there, and its inputs guessed from its layers, said so
    _, report, _ = check("stale_test", capsys=capsys, target="segmenter.py")
    model = one_model(report)
    assert model["input_shapes"][0][:2] == [2, 9], model["input_shapes"]
    assert "input [12, 3, 2048] as the code at segmenter.py:20 feeds it does not run on it: inputs were guessed " \
           "instead" in model["notes"], model["notes"]


def test_a_forward_argument_only_compared_with_literals_takes_the_first(capsys) -> None:
    # `forward(x, direction)` hands direction to a helper that compares it with words and raises on any other
    # value: a tensor there fails; the first word it is compared with ("scale") is the forward's first branch
    _, report, _ = check("literal_choice", capsys=capsys, target="scaling.py")
    model = one_model(report)
    assert model["name"] == "SeriesScaler" and model["input_shapes"] == [[2, 5]], model
    assert any("`direction` given 'scale'" in n for n in model["notes"]), model["notes"]


def test_a_site_in_a_function_that_may_return_early_still_runs(capsys) -> None:
    # export() reads its settings only if PyYAML imports (`except ImportError: return`): the slice runs that
    # `try` at module level, where its `return` is the function's end, not a syntax error
    _, report, _ = check("return_in_site", capsys=capsys, target="net.py")
    model = one_model(report)
    assert model["name"] == "TinyNet" and model["parameters"] == 6 * 12 + 12 + 12 * 2 + 2, model
    assert any("export.py:7-14" in n for n in model["notes"]), model["notes"]


def test_a_function_that_returns_before_its_site_says_so(capsys) -> None:
    # publish() returns when its uploader package is absent: the site is never reached, and the report says
    # where it returned rather than that `path` is unbound (the site does not need it)
    code, report, _ = check("return_in_site", capsys=capsys, target="wide.py")
    assert code == 2 and not report["models"], report
    [error] = report["errors"]
    assert "wide.py:17: the function returns there, before it reaches the construction" in error["message"], error


def test_a_config_with_required_fields_takes_the_values_the_repository_writes(capsys) -> None:
    # Encoder(config: EncoderConfig) is built nowhere, and EncoderConfig has no defaults for width and depth; the
    # repository's test writes EncoderConfig(width=24, depth=3): those values build the config
    _, report, _ = check("written_config", capsys=capsys, target="encoder.py")
    model = one_model(report)
    assert model["name"] == "Encoder" and model["parameters"] == 3 * (24 * 24 + 24), model
    assert "built with config objects: Encoder(config=EncoderConfig(width=24, depth=3), as test_config.py:7 " \
           "writes it)" in model["notes"], model["notes"]


def test_a_forward_state_the_model_makes_itself_is_made_by_it(capsys) -> None:
    # forward(tokens, state) of a time-major GRU: the model publishes its starting state as init_state(batch);
    # the ids [2, 16] are (time, batch), so the state is made for a batch of 16
    # Scorer's init_weights() writes its layer's weights: never called to make its `weights` argument
    _, report, _ = check("state_maker", capsys=capsys, target="charnet.py")
    assert not report["errors"], report["errors"]
    models = {m["name"]: m for m in report["models"]}
    assert models["model"]["input_shapes"] == [[2, 16], [2, 16, 32]], models
    assert any("made by the model's init_state(16)" in n for n in models["model"]["notes"]), models
    assert not any("init_weights" in n for n in models["scorer"]["notes"]), models["scorer"]


def test_required_arguments_the_forward_takes_as_none_are_none(capsys) -> None:
    # forward(source, target, five masks): four go to nn.Transformer, which defaults them to None, the last to a
    # child whose forward tests it against None; none of them has a default, so each is given None
    _, report, _ = check("none_masks", capsys=capsys, target="seq2seq.py")
    model = one_model(report)
    assert model["input_shapes"] == [[2, 16], [2, 16]], model
    assert any("source_mask: None" in n and "keep: None" in n for n in model["notes"]), model["notes"]


def test_a_factory_that_needs_a_download_leaves_its_class_to_be_built_on_its_own(capsys) -> None:
    # from_pretrained(name) downloads a config and weights (the README calls it so); the class it builds is
    # built on its own (its config class's defaults) and linted, the factory's reason said beside it
    _, report, _ = check("factory_class", capsys=capsys, target="tiny_lm.py")
    model = one_model(report)
    assert model["name"] == "TinyLM" and model["parameters"] == 64 * 32 + 2 * (32 * 32 + 32) + 32 * 64 + 64, model
    assert any(n.startswith("from_pretrained() could not be built (") and "a download" in n and
               n.endswith("the class it builds, TinyLM, was linted instead") for n in model["notes"]), model["notes"]


def test_a_constructor_of_star_args_is_built_as_the_repository_builds_it(capsys) -> None:
    # Swap(*axes) builds bare as a module that swaps nothing and fails at its first forward; the repository
    # builds it as Swap(1, 2), which is the model
    _, report, _ = check("varargs_site", capsys=capsys, target="layers.py")
    model = one_model(report)
    assert model["name"] == "Swap" and len(model["input_shapes"][0]) == 3, model
    assert any(n.startswith("built as in encoder.py:10: Swap(1, 2)") for n in model["notes"]), model["notes"]


def test_flags_a_loop_adds_from_a_yaml_file_have_its_values(capsys) -> None:
    # train.py adds one flag per key of config/config.yaml in a loop (`parser.add_argument(f"--{key}",
    # default=value)`): that loop changes the parser, so the slice runs it and args.width is the file's 12
    _, report, _ = check("yaml_flags", capsys=capsys, target="net.py")
    model = one_model(report)
    assert model["parameters"] == 5 * 12 + 12 + 2 * (12 * 12 + 12), model
    assert any(n.startswith("built as in train.py:14-20") for n in model["notes"]), model["notes"]
