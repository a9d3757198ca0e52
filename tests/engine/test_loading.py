"""Targets to models: discovery in files, explicit attributes, example inputs, clean imports, one-line errors."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
import torch
from torch import nn

from archlint.run.config import ModelEntry
from archlint.load.construction import construction_site
from archlint.load.models import LoadedModel, load_spec
from archlint.load.options import LoadOptions
from archlint.plugin.results import TargetCause
from archlint.load.targets import ModelSpec, expand_targets, split_target
from archlint.plugin.results import TargetError

MODELS = """
import torch
from torch import nn
from torch import nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return self.fc(x).relu()


class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.block = Block(width)
        self.head = nn.Linear(width, 3)

    def forward(self, x):
        return self.head(self.block(x))


class Wide(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, 2)

    def forward(self, x):
        return self.fc(x)


def build_small() -> nn.Module:
    return nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))


def helper(x):
    raise AssertionError("a helper must never be called by discovery")


def make_loader() -> list:
    raise AssertionError("annotated to return a list: not a model factory")


instance = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
"""


def models_of(items: list) -> dict[str, LoadedModel]:
    return {m.name: m for m in items if isinstance(m, LoadedModel)}


def errors_of(items: list) -> list[TargetError]:
    return [e for e in items if isinstance(e, TargetError)]


def test_discovers_top_level_instances_classes_and_factories_only(write):
    path = write("models.py", MODELS)
    items = load_spec(ModelSpec(str(path)))
    models = models_of(items)
    # Block is a part of Net; Wide needs an argument; helper/make_loader are not model factories.
    assert list(models) == ["Net", "build_small", "instance"]
    assert errors_of(items) == []
    assert any("skipped class Wide: needs arguments (width)" in n for n in (note.text for note in models["Net"].notes))
    assert models["Net"].target == f"{path}:Net" and models["Net"].file == str(path)
    # inputs inferred from the first layer, and said so
    assert [tuple(x.shape) for x in models["Net"].example_inputs] == [(2, 8)]
    assert any("inferred from first layer Linear" in n for n in (note.text for note in models["Net"].notes))
    assert [tuple(x.shape) for x in models["instance"].example_inputs] == [(2, 3, 224, 224)]


def test_construction_sites_point_at_the_users_lines(write):
    path = write("models.py", MODELS)
    net = models_of(load_spec(ModelSpec(str(path), "Net")))["Net"].model
    site = construction_site(net.head)
    expected = 1 + next(i for i, line in enumerate(path.read_text().splitlines()) if "self.head = nn.Linear" in line)
    assert (site.file, site.line) == (str(path), expected)


def test_explicit_attributes_instance_class_factory(write):
    path = write("models.py", MODELS)
    for attr, kind in (("instance", torch.nn.Sequential), ("Net", torch.nn.Module), ("build_small", torch.nn.Sequential)):
        items = load_spec(ModelSpec(str(path), attr))
        assert len(items) == 1 and isinstance(items[0].model, kind), items
    # an explicit part is built when asked for, even though discovery skips it
    errors = errors_of(load_spec(ModelSpec(str(path), "Wide")))
    assert len(errors) == 1 and "needs arguments (width)" in errors[0].message and errors[0].target.endswith(":Wide")
    errors = errors_of(load_spec(ModelSpec(str(path), "helper")))
    assert "helper() needs arguments (x)" in errors[0].message
    errors = errors_of(load_spec(ModelSpec(str(path), "nothing_here")))
    assert "has no attribute 'nothing_here'" in errors[0].message


def test_config_kwargs_build_a_class_that_needs_arguments(write):
    path = write("models.py", MODELS)
    entry = ModelEntry(target="models.py:Wide", kwargs=(("width", 6),), name="wide6", base_dir=str(path.parent))
    items = load_spec(ModelSpec(str(path)), LoadOptions(entries=(entry,)))
    models = models_of(items)
    assert models["wide6"].model.fc.in_features == 6
    assert not any("skipped class Wide" in n for m in models.values() for n in (note.text for note in m.notes))


def test_module_attr_target_and_clean_sys_modules_and_path(write, monkeypatch, tmp_path):
    write("mypkg/__init__.py", "")
    write("mypkg/layers.py", """
        from torch import nn
        def head(width):
            return nn.Linear(width, 2)
    """)
    write("mypkg/nets.py", """
        from torch import nn
        from .layers import head
        def create_net() -> nn.Module:
            return nn.Sequential(nn.Linear(4, 4), head(4))
    """)
    monkeypatch.chdir(tmp_path)
    path_before, modules_before = list(sys.path), set(sys.modules)
    items = load_spec(ModelSpec("mypkg.nets", "create_net"))
    assert isinstance(items[0], LoadedModel) and items[0].model[1].out_features == 2
    # the package file with a relative import, as a file target
    items = load_spec(ModelSpec(str(tmp_path / "mypkg" / "nets.py")))
    assert [m.name for m in items] == ["create_net"]
    assert sys.path == path_before
    assert not {m for m in set(sys.modules) - modules_before if m.startswith(("mypkg", "archlint_target"))}


def test_file_is_imported_exactly_once_and_leaves_nothing_behind(write, tmp_path):
    # the count is written outside the user's folder: archlint refuses writes there while it imports the file
    log = Path(tempfile.mkdtemp()) / "imports.log"
    write("sibling_helpers.py", "WIDTH = 4\n")
    path = write("counted.py", f"""
        from torch import nn
        import sibling_helpers
        with open({str(log)!r}, "a") as f:
            f.write("imported\\n")
        class A(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(sibling_helpers.WIDTH, 2)
            def forward(self, x):
                return self.fc(x)
        def build_b() -> nn.Module:
            return nn.Linear(3, 1)
    """)
    path_before, modules_before = list(sys.path), set(sys.modules)
    items = load_spec(ModelSpec(str(path)))
    assert [m.name for m in items] == ["A", "build_b"]
    assert log.read_text() == "imported\n"
    assert sys.path == path_before
    assert "sibling_helpers" not in sys.modules
    assert not [m for m in set(sys.modules) - modules_before if "counted" in m]


def test_example_inputs_precedence(write):
    path = write("inputs.py", """
        import torch
        from torch import nn

        class OwnInputs(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(7, 2)
            def forward(self, x):
                return self.fc(x)
            @staticmethod
            def example_inputs():
                return torch.zeros(5, 7)

        class FileInputs(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(7, 2)
            def forward(self, x):
                return self.fc(x)

        def example_inputs():
            return (torch.ones(3, 7),)
    """)
    shapes = lambda items: {m.name: [tuple(x.shape) for x in m.example_inputs] for m in models_of(items).values()}
    assert shapes(load_spec(ModelSpec(str(path)))) == {"OwnInputs": [(5, 7)], "FileInputs": [(3, 7)]}
    entry = ModelEntry(target="inputs.py:FileInputs", input_shapes=((4, 7),), base_dir=str(path.parent))
    assert shapes(load_spec(ModelSpec(str(path)), LoadOptions(entries=(entry,))))["FileInputs"] == [(4, 7)]
    cli = LoadOptions(input_shapes=((6, 7),), entries=(entry,))
    assert shapes(load_spec(ModelSpec(str(path)), cli)) == {"OwnInputs": [(6, 7)], "FileInputs": [(6, 7)]}
    half = models_of(load_spec(ModelSpec(str(path), "FileInputs"), LoadOptions(input_shapes=((1, 7),),
                                                                            dtype="float16")))
    assert half["FileInputs"].example_inputs[0].dtype == torch.float16


def test_embedding_input_shape_gives_integer_tokens(write):
    path = write("lm.py", """
        from torch import nn
        class LM(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(50, 8)
                self.out = nn.Linear(8, 50)
            def forward(self, tokens):
                return self.out(self.embed(tokens))
    """)
    model = models_of(load_spec(ModelSpec(str(path)), LoadOptions(input_shapes=((2, 9),))))["LM"]
    tokens = model.example_inputs[0]
    assert tokens.dtype == torch.int64 and tuple(tokens.shape) == (2, 9) and 0 <= int(tokens.min()) <= int(tokens.max()) < 100


@pytest.mark.parametrize("source, words", [
    ("from torch import nn\nclass Net(nn.Module:\n    pass\n", ["SyntaxError", "bad.py:2"]),
    ("import not_installed_pkg_xyz\n", ["cannot import", "needs the package 'not_installed_pkg_xyz'", "pip install not_installed_pkg_xyz", "bad.py:1"]),
    ("X = {}['missing']\n", ["importing the file raised KeyError", "'missing'", "bad.py:1"]),
    ("import sys\nsys.exit(3)\n", ["sys.exit(3)"]),
    ("def normalise(x):\n    return x\n", ["no model found"]),
    ("from torch import nn\nclass NeedsArgs(nn.Module):\n    def __init__(self, width):\n        super().__init__()\n",
     ["no model could be built", "NeedsArgs", "width"]),
    ("from torch import nn\nclass Boom(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
     "        raise ValueError('bad width')\n", ["constructor raised ValueError: bad width", "bad.py:5"]),
    ("from torch import nn\ndef build_model():\n    return 42\n", ["no model found", "build_model() is named like one, but its code returns no module"]),
])
def test_every_failure_is_one_line_naming_file_and_cause(write, source, words):
    path = write("bad.py", source)
    path_before = list(sys.path)
    items = load_spec(ModelSpec(str(path)))
    errors = errors_of(items)
    assert len(errors) == 1 and not models_of(items), items
    line = str(errors[0])
    assert "\n" not in line and str(path) in line, line
    for word in words:
        assert word in line, line
    assert sys.path == path_before


def test_expand_targets_walks_directories_and_skips_hidden_and_venvs(write, tmp_path):
    for name in ("a.py", "sub/b.py", ".hidden/c.py", "__pycache__/d.py", "venv/e.py", "env2/lib/f.py",
                 "setup.py", "notes.txt"):
        write(name, "")
    (tmp_path / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    specs, errors = expand_targets([str(tmp_path)])
    assert [Path(s.target).relative_to(tmp_path).as_posix() for s in specs] == ["a.py", "sub/b.py"]
    assert all(s.from_directory for s in specs) and errors == []
    specs, errors = expand_targets([str(tmp_path / "missing.py"), "no_such_thing", "pkg.mod:Net",
                                    f"{tmp_path / 'a.py'}:Net", str(tmp_path / "a.py")])
    assert [str(s) for s in specs] == ["pkg.mod:Net", f"{tmp_path / 'a.py'}:Net", str(tmp_path / "a.py")]
    assert specs[2].exclude == ("Net",)   # the whole-file scan leaves Net to its own target
    assert [e.target for e in errors] == [str(tmp_path / "missing.py"), "no_such_thing"]
    assert "no such file" in errors[0].message


def test_split_target():
    assert split_target("models/net.py:Net") == ("models/net.py", "Net")
    assert split_target("pkg.mod:Outer.inner") == ("pkg.mod", "Outer.inner")
    assert split_target("models/net.py") == ("models/net.py", None)
    assert split_target("C:\\models\\net.py") == ("C:\\models\\net.py", None)


def test_directory_scan_ignores_files_without_models(write, tmp_path):
    write("models/blocks.py", """
        from torch import nn
        class ConvBN(nn.Module):
            def __init__(self, c_in, c_out):
                super().__init__()
                self.conv = nn.Conv2d(c_in, c_out, 3)
    """)
    write("models/utils.py", "def seed(): pass\n")
    write("models/net.py", """
        from torch import nn
        net = nn.Sequential(nn.Linear(3, 2))
    """)
    specs, _ = expand_targets([str(tmp_path / "models")])
    results = [item for spec in specs for item in load_spec(spec)]
    assert [m.name for m in results if not isinstance(m, TargetError)] == ["net"]
    # a file of building blocks is not an error, but a model class it could not build is counted, never silent
    [skipped] = [e for e in results if isinstance(e, TargetError)]
    assert skipped.kind == "skipped" and "class ConvBN: needs arguments (c_in, c_out)" in skipped.message


def test_weights_a_backbone_downloads_under_an_imported_name_are_skipped_and_everything_restored(write):
    """`from torch.hub import load_state_dict_from_url as load_url` deep in a backbone builder with a hard-coded
    `pretrained=True`: built again without the download (the user's own init kept), and torch.hub's function and
    `load_state_dict` are the originals afterwards."""
    import torch.hub

    original_loader, original_load = torch.hub.load_state_dict_from_url, nn.Module.load_state_dict
    path = write("backbone_net.py", (
        "import torch\nfrom torch import nn\nfrom torch.hub import load_state_dict_from_url as load_url\n\n"
        "def backbone(pretrained=True):\n"
        "    trunk = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n"
        "    if pretrained:\n"
        "        state = load_url('https://weights.invalid/trunk.pth')\n"
        "        own = trunk.state_dict()\n"
        "        own.update({k: v for k, v in state.items() if k in own})\n"
        "        trunk.load_state_dict(own)\n"
        "    return trunk\n\n"
        "class Segmenter(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.trunk = backbone()\n"
        "        self.head = nn.Conv2d(8, 2, 1)\n"
        "        nn.init.zeros_(self.head.bias)\n"
        "        self.trunk[0].load_state_dict(torch.hub.load_state_dict_from_url('https://weights.invalid/c.pth'))\n\n"
        "    def forward(self, x):\n"
        "        return self.head(self.trunk(x))\n"))
    [loaded] = models_of(load_spec(ModelSpec(str(path)))).values()
    notes = [note.text for note in loaded.notes]
    assert "built without its pretrained weights: the download of https://weights.invalid/trunk.pth and 1 more was " \
           "skipped (the architecture, with the initialisation its code gives)" in notes, notes
    assert loaded.model.trunk[0].weight.abs().sum() > 0
    assert torch.hub.load_state_dict_from_url is original_loader and nn.Module.load_state_dict is original_load
    assert type(loaded.model).__init__.__globals__["load_url"] is original_loader


def test_a_module_whose_import_fetches_files_needs_a_download_said_with_the_url(write):
    """A library's own error raised from the refused connection (a hub client's OSError) is a download."""
    write("hub_config.py", (
        "import urllib.request\n\n"
        "def config():\n"
        "    try:\n"
        "        return urllib.request.urlopen('https://files.invalid/config.json')\n"
        "    except Exception as exc:\n"
        "        raise OSError(\"We couldn't connect to load the files\") from exc\n\n"
        "CONFIG = config()\n"))
    path = write("fetches_config.py", "from torch import nn\nfrom hub_config import CONFIG\n\n"
                                      "class Net(nn.Module):\n    pass\n")
    [error] = errors_of(load_spec(ModelSpec(str(path))))
    assert error.cause is TargetCause.NEEDS_DOWNLOAD, error
    assert "it downloads https://files.invalid/config.json" in error.message or \
        "it opens a network connection" in error.message, error.message


def test_a_factory_whose_pretrained_default_loads_weights_that_are_not_here_is_built_without_them(write):
    """`def small_net(pretrained=True)` reading `state_dicts/small.pt` that a download script would fetch."""
    path = write("small_net.py", (
        "import os\nimport torch\nfrom torch import nn\n\n"
        "def small_net(pretrained=True):\n"
        "    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))\n"
        "    if pretrained:\n"
        "        net.load_state_dict(torch.load(os.path.join(os.path.dirname(__file__), 'state_dicts', 'small.pt')))\n"
        "    return net\n"))
    [loaded] = models_of(load_spec(ModelSpec(str(path)))).values()
    assert "called with pretrained=False: the architecture, without the weights its default loads (they could not " \
           "be loaded here)" in [note.text for note in loaded.notes]


class _SpectrumAndFeatures(nn.Module):
    """One-channel maps and, as a second argument, vectors for a wide Linear: neither guess fits the other."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.wide = nn.Linear(4000, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean() + self.wide(y).mean()


def test_other_inputs_are_made_one_at_a_time_and_none_dwarfs_the_first() -> None:
    # a 512 px map with the Linear's 4000 features on its last axis would be 8 GB: every alternative's other
    # tensors stay within a few times the first, and they are made only as they are tried
    from collections.abc import Iterator
    from archlint.load.inputs import MOST_ELEMENTS_PER_FIRST, alternative_inputs
    alternatives = alternative_inputs(_SpectrumAndFeatures())
    assert isinstance(alternatives, Iterator)
    tried = 0
    for inputs, _ in alternatives:
        tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
        assert all(t.numel() <= MOST_ELEMENTS_PER_FIRST * tensors[0].numel() for t in tensors[1:]), \
            [tuple(t.shape) for t in tensors]
        tried += 1
    assert tried > 20   # the common sizes, channels first and last, were all offered


def test_a_module_getattr_that_refuses_a_name_does_not_stop_discovery(write):
    # supersuit's `__getattr__` raises an ImportError ("resize_v0 is now deprecated") for a removed wrapper: reading
    # a factory's body looks names up, and that lookup must not end the lint (it was an "internal error")
    write("wrappers.py", """
        def __getattr__(name):
            raise ImportError(f"{name} is now deprecated, use {name[:-1]}1 instead")
    """)
    path = write("agent.py", """
        from torch import nn
        import wrappers

        class Policy(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
            def forward(self, x):
                return self.fc(x)

        class Env:
            pass

        def make_env():
            env = wrappers.resize_v0(Env())
            return env
    """)
    items = load_spec(ModelSpec(str(path)))
    assert "Policy" in models_of(items), items
    assert not any("internal error" in str(e) for e in errors_of(items)), items


def test_what_an_installed_package_refuses_for_its_version_or_lacks_is_the_environment(tmp_path, monkeypatch):
    # an installed package that refuses a call as deprecated (gym's `DeprecatedEnv`), one that says in an error of
    # its own that a package is not installed (gym's `DependencyNotInstalled: No module named 'mujoco_py'`), and an
    # attribute an installed module no longer has (torchvision's `transforms.Scale`): the machine's packages, not
    # the code, and each said so
    from archlint.load.errors import import_error_cause, import_error_message
    from archlint.plugin.results import TargetCause

    package = tmp_path / "site-packages" / "oldgym"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "class DeprecatedEnv(Exception):\n    pass\n\n"
        "class DependencyNotInstalled(Exception):\n    pass\n\n"
        "def make(name):\n    raise DeprecatedEnv(f'Environment version v0 for {name} is deprecated')\n\n"
        "def mujoco():\n    raise DependencyNotInstalled(\"No module named 'mujoco_not_here_xyz'\")\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    import oldgym
    import torchvision.transforms as transforms

    raised = []
    for attempt in (lambda: oldgym.make("Pendulum"), oldgym.mujoco, lambda: transforms.Scale):
        try:
            attempt()
        except Exception as exc:
            raised.append(exc)
    deprecated, missing, lacking = raised
    assert import_error_cause(deprecated) is TargetCause.VERSION_CONFLICT
    assert "the installed oldgym refused what the code asks for: DeprecatedEnv" in import_error_message(deprecated)
    assert import_error_cause(missing) is TargetCause.MISSING_PACKAGE
    assert "the package 'mujoco_not_here_xyz' is not installed here" in import_error_message(missing)
    assert import_error_cause(lacking) is TargetCause.VERSION_CONFLICT
    assert "the code uses torchvision.transforms.Scale, which the installed torchvision" in \
        import_error_message(lacking)


def test_third_party_code_the_readme_says_to_add_is_named_with_where_it_says_so(write):
    # SPADE's README: "git clone .../Synchronized-BatchNorm-PyTorch; cp -rf .../sync_batchnorm models/networks/":
    # the import of `models.networks.sync_batchnorm` fails until then, which is the machine's state, not the code
    write("README.md", "# Synthesis\n\nThis code also needs the synchronized batchnorm:\n\n"
                       "    cp -rf Synchronized-BatchNorm-PyTorch/sync_batchnorm models/networks/\n")
    write("setup.cfg", "[metadata]\nname = synthesis\n")
    write("models/__init__.py", "")
    write("models/networks/__init__.py", "")
    path = write("models/networks/normalization.py", """
        from torch import nn
        from models.networks.sync_batchnorm import SynchronizedBatchNorm2d

        class SPADE(nn.Module):
            def __init__(self):
                super().__init__()
                self.norm = SynchronizedBatchNorm2d(8)
    """)
    [error] = errors_of(load_spec(ModelSpec(str(path))))
    assert error.cause.value == "missing package", error
    assert "the code imports models.networks.sync_batchnorm, which the repository does not include" in error.message
    assert error.message.endswith("third-party code to add, as README.md:5 says"), error.message


def test_a_factory_named_like_an_attribute_of_the_class_it_builds_is_found(write):
    # SSD's backbone: `class VGG` keeps `self.vgg = nn.ModuleList(...)`, and `def vgg(cfg)` builds VGG: the class's
    # own attribute `self.vgg` is no use of the function `vgg`, so the factory is the file's model, not a part
    path = write("backbone.py", """
        from torch import nn

        class VGG(nn.Module):
            def __init__(self, width=8):
                super().__init__()
                self.vgg = nn.ModuleList([nn.Conv2d(3, width, 3), nn.ReLU()])
            def forward(self, x):
                for layer in self.vgg:
                    x = layer(x)
                return x

        def vgg(width=8, pretrained=False):
            model = VGG(width)
            return model
    """)
    assert set(models_of(load_spec(ModelSpec(str(path))))) == {"vgg"}
