"""Reach: how many model files of real repositories `archlint check FILE` lints with no configuration.

    python benchmarks/reach.py FOLDER... [-j 2] [--timeout 180] [--json out.json] [--reports DIR] [-- extra archlint flags]

Every .py file and notebook (its code cells) under the folders that defines an `nn.Module` subclass is checked in its own `archlint check`
process (cwd = the file's folder, as a user would run it). A file reaches when at least one model was linted.
Prints one line per file (with the process's wall time), then the reach, the causes of the misses, grouped,
and the median time per file. `--reports DIR` keeps each file's JSON report (to compare two versions of
archlint file by file: run it twice, with PYTHONPATH pointing at each). Fetch the repositories yourself
(they are never copied into this project).
"""
from __future__ import annotations

import argparse
import ast
import collections
import concurrent.futures as cf
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

@dataclass
class Outcome:
    file: str
    models: int
    cause: str
    detail: str
    seconds: float = 0.0    # wall time of the whole `archlint check` process (python start and imports included)


def source_of(path: Path) -> str:
    """A file's Python: a notebook's code cells joined (IPython magics and shell lines dropped)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return text
    try:
        cells = json.loads(text).get("cells", [])
    except (json.JSONDecodeError, AttributeError):
        return ""
    lines = []
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            lines += [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def defines_module(path: Path) -> bool:
    try:
        tree = ast.parse(source_of(path))
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                text = ast.unparse(base)
                if text.endswith("Module") and "nn" in text or text in ("Module",):
                    return True
    return False


def model_files(folders: list[Path]) -> list[Path]:
    found = []
    for folder in folders:
        for path in sorted(p for suffix in ("*.py", "*.ipynb") for p in folder.rglob(suffix)):
            if (not any(part.startswith(".") or part == ".ipynb_checkpoints" for part in path.parts)
                    and defines_module(path)):
                found.append(path)
    return found


ENVIRONMENT_CAUSES = ("missing package", "version conflict", "needs a download", "needs data", "unbuilt extension",
                      "needs a distributed runtime")


def classify(errors: list[dict[str, str]]) -> str:
    """The cause of a file's misses, as the report types it: the first error's cause, else its kind."""
    if not errors:
        return "no model linted"
    return errors[0].get("cause") or errors[0]["kind"]


def check(path: Path, timeout: float, extra: list[str], reports: Path | None = None) -> Outcome:
    start = time.perf_counter()
    outcome = _check(path, timeout, extra, reports)
    outcome.seconds = round(time.perf_counter() - start, 3)
    return outcome


def _check(path: Path, timeout: float, extra: list[str], reports: Path | None) -> Outcome:
    # -P: the file's folder is not put first on sys.path, as the `archlint` command does not put it there either (a
    # repository's own token.py or types.py would shadow the standard library's for archlint itself)
    command = [sys.executable, "-P", "-m", "archlint", "check", path.name, "--format", "json", "--exit-zero", *extra]
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=path.parent, timeout=timeout,
                              env={**os.environ, "NO_COLOR": "1", "MPLBACKEND": "Agg"})
    except subprocess.TimeoutExpired:
        return Outcome(str(path), 0, "timeout", f"more than {timeout:g} s")
    if reports is not None:
        (reports / (str(path.resolve()).strip("/").replace("/", "__") + ".json")).write_text(done.stdout)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        # no report: the process was killed (out of memory) or crashed before writing one
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(str(path), 0, f"no report (exit {done.returncode})", tail[:300])
    errors = report["errors"]
    models = len(report["models"])
    return Outcome(str(path), models, "linted" if models else classify(errors),
                   (errors[0]["message"] if errors else "")[:300])


def main() -> int:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--json", type=Path, help="write every outcome to this file")
    parser.add_argument("--reports", type=Path, help="keep each file's JSON report in this folder")
    args = parser.parse_args(argv)
    files = model_files(args.folders)
    if args.reports:
        args.reports.mkdir(parents=True, exist_ok=True)
    with cf.ThreadPoolExecutor(args.jobs) as pool:
        outcomes = list(pool.map(lambda p: check(p, args.timeout, extra, args.reports), files))
    for o in outcomes:
        print(f"{o.cause:16} {o.models:2} {o.seconds:6.1f}s  {o.file}  {o.detail}")
    reached = sum(o.models > 0 for o in outcomes)
    print(f"\nreach: {reached}/{len(outcomes)} files with a linted model ({100 * reached / max(1, len(outcomes)):.0f}%)")
    # what no reading of the repository supplies: packages not installed or whose installed versions do not fit,
    # weights or data downloaded while the model is built
    readable = [o for o in outcomes if o.cause not in ENVIRONMENT_CAUSES]
    print(f"reach without {', '.join(ENVIRONMENT_CAUSES)}: {reached}/{len(readable)} "
          f"({100 * reached / max(1, len(readable)):.0f}%)")
    for cause, count in collections.Counter(o.cause for o in outcomes if o.models == 0).most_common():
        print(f"  {cause}: {count}")
    if outcomes:
        print(f"time per file: median {statistics.median(o.seconds for o in outcomes):.2f} s, "
              f"total {sum(o.seconds for o in outcomes):.0f} s with {args.jobs} job(s)")
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
