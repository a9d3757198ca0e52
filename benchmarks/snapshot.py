"""Behaviour snapshot: the JSON `archlint check` writes for the examples and a fixed set of zoo models.

    python benchmarks/snapshot.py write DIR      # one JSON file per target in DIR
    python benchmarks/snapshot.py compare A B    # byte-compare two snapshot folders; exit 1 on a difference

A refactoring is behaviour-preserving when `compare` reports every file identical. Each target runs in a
fresh `archlint check` process (the real command line), so the snapshot covers loading, tracing, every
rule and the JSON format.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import difflib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Diverse on purpose: plain CNNs with big heads, residual nets, depthwise nets, dense concatenation,
# inception branches, squeeze-excite, transformers, and a model whose head is a convolution.
ZOO = (
    "alexnet", "vgg11", "resnet18", "resnet50", "densenet121", "googlenet", "mobilenet_v2",
    "mobilenet_v3_small", "efficientnet_b0", "squeezenet1_0", "shufflenet_v2_x0_5", "regnet_y_400mf",
    "convnext_tiny", "vit_b_16", "mnasnet0_5",
)


def targets() -> dict[str, list[str]]:
    """snapshot file name -> archlint check arguments."""
    found = {"examples": [str(ROOT / "examples")]}
    for name in ZOO:
        found[f"zoo-{name}"] = [f"torchvision.models:{name}"]
    return found


def run(args: list[str]) -> bytes:
    command = [sys.executable, "-m", "archlint", "check", *args, "--format", "json", "--exit-zero"]
    done = subprocess.run(command, capture_output=True, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"})
    return done.stdout


def write(folder: Path, jobs: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with cf.ThreadPoolExecutor(jobs) as pool:
        outputs = dict(zip(targets(), pool.map(run, targets().values())))
    for name, output in outputs.items():
        (folder / f"{name}.json").write_bytes(output)
        print(f"{name}: {len(output):,} bytes")


def compare(before: Path, after: Path) -> int:
    differing = 0
    for name in targets():
        old, new = (folder / f"{name}.json" for folder in (before, after))
        if not old.exists() or not new.exists():
            print(f"{name}: missing in {before if not old.exists() else after}")
            differing += 1
        elif old.read_bytes() != new.read_bytes():
            differing += 1
            diff = difflib.unified_diff(old.read_text().splitlines(), new.read_text().splitlines(), lineterm="",
                                        fromfile=str(old), tofile=str(new), n=1)
            print("\n".join(list(diff)[:40]))
        else:
            print(f"{name}: identical")
    print(f"{len(targets()) - differing}/{len(targets())} identical")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    writing = verbs.add_parser("write")
    writing.add_argument("folder", type=Path)
    writing.add_argument("-j", "--jobs", type=int, default=2)
    comparing = verbs.add_parser("compare")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.verb == "write":
        write(args.folder, args.jobs)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
