"""The warm MCP server against a cold `archlint check`: the time of a second check of an edited file in one
`archlint mcp` session, as a ratio of a cold command-line check of the same file (same run, medians).

    python benchmarks/mcp_warm.py [FILE ...] [--repeat 5]

For each file: `archlint check FILE` in a fresh process (the whole process: Python start, imports, lint, exit),
`--repeat` times; then one `archlint mcp` session that checks the file once (warm-up), and `--repeat` times appends
a comment to a copy of the file (an edit) and checks it again, timing the tool call from the client.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cold(file: Path, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archlint", "check", file.name, "--format", "json", "--exit-zero"],
                       cwd=file.parent, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def warm(file: Path, repeat: int) -> list[float]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    async def run() -> list[float]:
        params = StdioServerParameters(command=sys.executable, args=["-m", "archlint", "mcp"], cwd=str(file.parent))
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                await session.call_tool("check", {"target": file.name})      # the first check warms the server
                times = []
                for edit in range(repeat):
                    with file.open("a") as handle:
                        handle.write(f"\n# edit {edit}\n")
                    start = time.perf_counter()
                    result = await session.call_tool("check", {"target": file.name})
                    times.append(time.perf_counter() - start)
                    assert not result.is_error, result.content
                return times
    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path,
                        default=[ROOT / "examples" / "large_kernel_bad.py", ROOT / "examples" / "missing_residual_bad.py"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'file':34} {'cold s':>8} {'warm s':>8} {'warm/cold':>9}")
    for original in args.files:
        with tempfile.TemporaryDirectory() as folder:
            file = Path(folder) / original.name
            shutil.copy(original, file)
            cold_s = statistics.median(cold(file, args.repeat))
            warm_s = statistics.median(warm(file, args.repeat))
        print(f"{original.name:34} {cold_s:8.2f} {warm_s:8.2f} {warm_s / cold_s:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
