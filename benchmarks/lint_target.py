"""Stand-in for `archlint check TARGET` while archlint/cli.py does not exist yet (used by run.py only then).

    python benchmarks/lint_target.py TARGET... [--no-probe] [--device auto|cpu|meta] [-j N] [--timeout S] --output FILE

Does what the command does for one target: resolve `module:factory` or `path.py` (its `llama_7b`-style factory and
`example_inputs()`), build it with archlint.meta.build_model (device auto), infer or take inputs, lint with all
installed rules, write the JSON report. Exit code as the CLI: 0 clean, 1 findings, 2 errors.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path


def resolve(target: str):
    if target.endswith(".py"):
        path = Path(target)
        spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        factory = getattr(module, path.stem)
        return factory, getattr(module, "example_inputs", None), path.stem
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute), None, attribute


def lint_one(job: tuple[str, bool, str]):
    from archlint.api import check_built_model
    from archlint.meta import build_model

    target, probe, device = job
    factory, example_inputs, name = resolve(target)
    built = build_model(factory, device)
    inputs = example_inputs() if example_inputs else None
    report = check_built_model(built.model, inputs, name=name, probe=probe, device=built.device)
    for model in report.models:
        model.target = target
        if built.note:
            model.notes.append(built.note)
    return report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--no-probe", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    from archlint.parallel import lint_many

    jobs = [(target, not args.no_probe, args.device) for target in args.targets]
    report = lint_many(jobs, lint_one, jobs=args.jobs, timeout=args.timeout, label=lambda job: job[0])
    Path(args.output).write_text(report.to_json())
    return report.exit_code()


if __name__ == "__main__":
    sys.exit(main())
