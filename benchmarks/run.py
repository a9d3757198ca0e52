"""Benchmark archlint against what any model checker must pay: importing torch and building the model.

    python benchmarks/run.py                    # all models, 5 repetitions, writes benchmarks/results.md
    python benchmarks/run.py --repeat 3 --models resnet50 llama_7b --no-zoo

Every measurement is a fresh process (whole-process wall time, peak RSS from wait4's rusage), and the
variants are interleaved (model by model, repetition by repetition) so that load from other users of
the machine spreads over all of them alike. Reported numbers are medians.

Variants per model:
  build      python: import torch (+torchvision) and build the model          (the baseline)
  torchinfo  python: the same + torchinfo.summary on archlint's input shape   (the baseline for the full check)
  no-probe   archlint check TARGET --no-probe
  full       archlint check TARGET                                          (all rules, probe on)
With --quick-exit-baselines the two baselines end with `os._exit(0)` as the `archlint` command does (it skips
the interpreter's teardown, 0.5-1.5 s of a torch process here), so the ratios compare the work alone.
The 7B example cannot be built on the CPU of a 24 GiB machine (27 GiB of fp32 weights): its baselines build
it under `torch.device("meta")`, which is the cheapest any tool can do.

Then a zoo run: every torchvision classification model in one `archlint check ... -j 2` command.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TORCHVISION_MODELS = ("resnet50", "vgg16", "vit_b_16", "efficientnet_b0")
ALL_MODELS = (*TORCHVISION_MODELS, "llama_7b")
VARIANTS = ("build", "torchinfo", "no-probe", "full")


@dataclass
class Run:
    seconds: float
    peak_mib: float
    exit_code: int
    cpu_seconds: float = 0.0   # user + system time of the process tree: steal time on a shared host does not count


def target_of(model: str) -> str:
    return str(ROOT / "examples" / "llama_7b.py") if model == "llama_7b" else f"torchvision.models:{model}"


def baseline_script(model: str, with_torchinfo: bool, quick_exit: bool = False) -> str:
    if model == "llama_7b":
        build = (f"import sys; sys.path.insert(0, {str(ROOT / 'examples')!r}); import llama_7b\n"
                 "with torch.device('meta'):\n    model = llama_7b.llama_7b()\n"
                 "inputs = llama_7b.example_inputs()[0].to('meta')\n")
        summary = "torchinfo.summary(model, input_data=[inputs], verbose=0, device='meta')\n"
    else:
        build = (f"import torchvision\nmodel = torchvision.models.get_model({model!r}, weights=None)\n")
        # archlint infers (2, 3, 224, 224) from the first convolution: torchinfo gets the same input
        summary = "torchinfo.summary(model, input_size=(2, 3, 224, 224), verbose=0)\n"
    script = "import torch\n" + build
    if with_torchinfo:
        script = "import torchinfo\n" + script + summary
    if quick_exit:   # like archlint's command: no interpreter teardown
        script += "import os, sys\nsys.stdout.flush()\nos._exit(0)\n"
    return script


def archlint_command() -> list[str]:
    return [PYTHON, "-m", "archlint", "check"]


def command(model: str, variant: str, output: str, quick_exit: bool = False) -> list[str]:
    if variant in ("build", "torchinfo"):
        return [PYTHON, "-c", baseline_script(model, variant == "torchinfo", quick_exit)]
    cmd = [*archlint_command(), target_of(model), "--output", output, "--format", "json"]
    return cmd + (["--no-probe"] if variant == "no-probe" else [])


def measure(cmd: list[str], env: dict[str, str]) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in (0, 1):
        print(f"  ! exit {process.returncode}: {' '.join(cmd[:6])}...\n{stderr[-800:]}", file=sys.stderr)
    return Run(seconds, usage.ru_maxrss / 1024, process.returncode, usage.ru_utime + usage.ru_stime)


def installed_rules() -> str:
    from archlint.plugin.host import build_plugin_host

    host = build_plugin_host()
    return ", ".join(f"{r.code} {r.name}" for r in host.rules) or "none"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import torch
    import torchvision
    return (f"{cpu}, {os.cpu_count()} logical cores{memory}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, torch {torch.__version__}, torchvision {torchvision.__version__}")


def benchmark(models: list[str], repeat: int, env: dict[str, str],
              quick_exit: bool = False) -> dict[str, dict[str, list[Run]]]:
    runs: dict[str, dict[str, list[Run]]] = {m: {v: [] for v in VARIANTS} for m in models}
    with tempfile.TemporaryDirectory() as scratch:
        output = os.path.join(scratch, "report.json")
        for model in models:   # one unmeasured run of each: file caches warm, bytecode written
            for variant in VARIANTS:
                measure(command(model, variant, output, quick_exit), env)
        for repetition in range(repeat):
            for model in models:
                for variant in VARIANTS:
                    run = measure(command(model, variant, output, quick_exit), env)
                    runs[model][variant].append(run)
                    print(f"[{repetition + 1}/{repeat}] {model:16s} {variant:9s} {run.seconds:6.2f} s "
                          f"{run.peak_mib:7.0f} MiB exit {run.exit_code}", flush=True)
    return runs


def raw_lines(runs: dict[str, dict[str, list[Run]]]) -> list[str]:
    return [f"{model:16s} {variant:9s} " + "  ".join(f"{r.seconds:6.2f} s ({r.cpu_seconds:5.2f} CPU) {r.peak_mib:6.0f} MiB exit {r.exit_code}"
                                                     for r in variant_runs)
            for model, by_variant in runs.items() for variant, variant_runs in by_variant.items()]


def median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(r, attribute) for r in runs)


def results_table(runs: dict[str, dict[str, list[Run]]]) -> list[str]:
    lines = [
        "| model | build s | torchinfo s | no-probe s | full s | no-probe / build | full / torchinfo | "
        "CPU: no-probe / build | CPU: full / torchinfo | "
        "build MiB | torchinfo MiB | no-probe MiB | full MiB | exits (np/full) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, by_variant in runs.items():
        t = {v: median(r, "seconds") for v, r in by_variant.items()}
        c = {v: median(r, "cpu_seconds") for v, r in by_variant.items()}
        m = {v: median(r, "peak_mib") for v, r in by_variant.items()}
        exits = "/".join(",".join(sorted({str(r.exit_code) for r in by_variant[v]})) for v in ("no-probe", "full"))
        lines.append(
            f"| {model} | {t['build']:.2f} | {t['torchinfo']:.2f} | {t['no-probe']:.2f} | {t['full']:.2f} | "
            f"{t['no-probe'] / t['build']:.2f}× | {t['full'] / t['torchinfo']:.2f}× | "
            f"{c['no-probe'] / c['build']:.2f}× | {c['full'] / c['torchinfo']:.2f}× | {m['build']:.0f} | "
            f"{m['torchinfo']:.0f} | {m['no-probe']:.0f} | {m['full']:.0f} | {exits} |")
    return lines


def zoo_run(env: dict[str, str], jobs: int, extra: list[str]) -> list[str]:
    import torchvision

    names = sorted(torchvision.models.list_models(module=torchvision.models))
    with tempfile.TemporaryDirectory() as scratch:
        output = os.path.join(scratch, "zoo.json")
        cmd = [*archlint_command(), *[f"torchvision.models:{n}" for n in names],
               "-j", str(jobs), "--output", output, "--format", "json", *extra]
        print(f"zoo: {len(names)} models, -j {jobs} {' '.join(extra)}", flush=True)
        run = measure(cmd, env)
        try:
            report = json.loads(Path(output).read_text())
        except (OSError, ValueError) as exc:
            return [f"zoo run produced no JSON report ({exc}); exit code {run.exit_code}"]
    tracers: dict[str, int] = {}
    for model in report.get("models", []):
        tracers[model.get("tracer") or "none"] = tracers.get(model.get("tracer") or "none", 0) + 1
    errors = report.get("errors", [])
    kinds: dict[str, int] = {}
    for error in errors:
        kinds[error.get("kind", "?")] = kinds.get(error.get("kind", "?"), 0) + 1
    linted = len(report.get("models", []))
    return [
        f"`archlint check <{len(names)} torchvision.models:NAME targets> -j {jobs} {' '.join(extra)}`: "
        f"{run.seconds:.0f} s wall, largest peak RSS of one process (the command or one of its workers: wait4 "
        f"reports the maximum over the waited process tree) {run.peak_mib:.0f} MiB, exit code {run.exit_code}.",
        "",
        f"- models linted: {linted} of {len(names)} → {linted / (run.seconds / 60):.1f} models/minute",
        "- tracer that produced each graph: " + ", ".join(f"{k}: {v}" for k, v in sorted(tracers.items())),
        "- errors by kind: " + (", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())) or "none"),
        *[f"  - {e.get('target')}: {e.get('kind')}: {str(e.get('message'))[:160]}" for e in errors[:20]],
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--models", nargs="*", default=list(ALL_MODELS), choices=ALL_MODELS)
    parser.add_argument("--no-zoo", action="store_true", help="skip the zoo run")
    parser.add_argument("--zoo-jobs", type=int, default=2)
    parser.add_argument("--zoo-args", default="", help="extra archlint arguments for the zoo run, e.g. '--no-probe'")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results.md"))
    parser.add_argument("--quick-exit-baselines", action="store_true",
                        help="end the baseline scripts with os._exit(0), as the archlint command ends")
    args = parser.parse_args()

    env = {**os.environ, "PYTHONHASHSEED": "0", "CI": "1"}  # CI: no progress bar on stderr
    # bytecode is cached as in an ordinary install: a sandbox's PYTHONDONTWRITEBYTECODE would charge the compile
    # of archlint's own modules to every archlint run (the baselines' torch bytecode is installed with it)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.strftime("%Y-%m-%d %H:%M")
    load_before = load_average()
    runs = benchmark(args.models, args.repeat, env, args.quick_exit_baselines)
    table = results_table(runs)
    print("\n".join(table))
    zoo = [] if args.no_zoo else zoo_run(env, args.zoo_jobs, args.zoo_args.split())
    print("\n".join(zoo))
    load_after = load_average()
    command_line = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    text = [
        "# archlint benchmarks", "",
        f"Made by `{command_line.strip()}` on {started}.", "",
        f"Machine: {machine()}. The machine was shared with other work while this ran, so absolute times are noisy;",
        "the variants were interleaved so that noise falls on all of them alike.", "",
        f"Medians of {args.repeat} runs; every run is a new process; time is wall time of the whole process,",
        "memory is its peak RSS (wait4 rusage). Baselines: `build` = import torch(+torchvision) and build the model;",
        "`torchinfo` = the same plus `torchinfo.summary` on the input archlint uses. The 7B baselines build on the",
        "meta device (its fp32 weights, 27 GiB, do not fit in memory).",
        *(["Both baselines end with `os._exit(0)`, as the archlint command does (no interpreter teardown)."]
          if args.quick_exit_baselines else []), "",
        f"Load average (1/5/15 min) at the start: {load_before}; at the end: {load_after}. "
        f"Rules installed: {installed_rules()}.", "",
        *table, "",
        "## Zoo run", "", *(zoo or ["(not run)"]), "",
        "## Raw runs", "", "```", *raw_lines(runs), "```", "",
    ]
    Path(args.output).write_text("\n".join(text))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
