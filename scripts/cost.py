#!/usr/bin/env python3
"""Lambda cost and wall time per TiB of CSV, from a fresh measurement on this machine (issue 20).

Usage: python3 scripts/cost.py [--bin target/release/csv2parquet] [--shape taxi] [--size 512MiB]
                               [--runs 3] [--cpu 0]

Generates the shape once (`csv2parquet generate`), then converts it `--runs` times with
`--workers 1` pinned to one core (`taskset -c CPU`), and `--runs` times with the default workers on
two cores (this machine has two). Medians are taken. The model:

  * a function of M MB gets M/1,769 vCPUs (FACTS.md: one vCPU per 1,769 MB, six at 10,240 MB);
    below one vCPU it gets that share of one core's time, so its rate is the single-core rate times
    the share; above one, every further vCPU adds what the second core added here (the measured
    marginal gain, an assumption past two cores);
  * the cost is GB-seconds times Lambda's price per GB-second (us-east-1, as published in 2026:
    x86_64 $0.0000166667, arm64 $0.0000133334; requests, $0.20 per million, are one per object and
    left out); duration is CPU-bound (the S3 reads and the upload overlap the decoding; real S3
    gives about 90 MB/s per connection and four ranges are in flight);
  * one invocation runs at most 900 s, so the largest object one invocation converts is printed
    too (larger ones need the fan-out of issue 21).

The rates are this machine's x86 cores; Graviton cores differ. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRICE = {"x86_64": 0.0000166667, "arm64": 0.0000133334}  # $ per GB-second, us-east-1
MEMORY_MB = [512, 1769, 3008, 10240]
MB_PER_VCPU = 1769
MAX_VCPU = 6
TIB = 1 << 40
DEADLINE_S = 900


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+)\s*(KiB|MiB|GiB)?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 512MiB)")
    return int(m.group(1)) * {None: 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m.group(2)]


def timed(cmd: list[str]) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def vcpus(memory_mb: int) -> float:
    return min(memory_mb / MB_PER_VCPU, MAX_VCPU)


def rate(memory_mb: int, one: float, gain: float) -> float:
    """Bytes per second a function of `memory_mb` converts (see the module docstring)."""
    v = vcpus(memory_mb)
    return one * v if v <= 1 else one * (1 + (v - 1) * gain)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "csv2parquet"))
    ap.add_argument("--shape", default="taxi", help="generated shape (taxi, text)")
    ap.add_argument("--size", type=parse_size, default=parse_size("512MiB"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cpu", type=int, default=0, help="core to pin the single-core runs to")
    args = ap.parse_args()
    if not shutil.which("taskset"):
        print("cost.py: needs taskset (util-linux)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="csv2pq-cost-") as tmp:
        src, out = Path(tmp) / f"{args.shape}.csv", Path(tmp) / "out.parquet"
        subprocess.run([args.bin, "generate", "--shape", args.shape, "--size", str(args.size),
                        "--seed", "1", str(src)], check=True, stdout=subprocess.DEVNULL)
        size = src.stat().st_size
        convert = [args.bin, "convert", "--quiet", str(src), str(out)]
        single, double = [], []
        for _ in range(args.runs):  # interleaved: the machine's noise hits both alike
            single.append(timed(["taskset", "-c", str(args.cpu)] + convert + ["--workers", "1"]))
            double.append(timed(convert))
    one = size / statistics.median(single)
    two = size / statistics.median(double)
    gain = max(0.0, min(1.0, two / one - 1))
    mib = 1 << 20
    print(f"{args.shape}, {size / mib:.0f} MiB, {args.runs} runs: one core {one / mib:.1f} MiB/s "
          f"(runs {', '.join(f'{t:.2f}' for t in single)} s), two cores {two / mib:.1f} MiB/s "
          f"(second core adds {gain:.0%})\n")
    print("| function memory | vCPUs | MiB/s | wall per TiB | largest object per invocation "
          "| $ per TiB arm64 | $ per TiB x86_64 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for memory in MEMORY_MB:
        r = rate(memory, one, gain)
        seconds = TIB / r
        gb_s = memory / 1024 * seconds
        print(f"| {memory:,} MB | {vcpus(memory):.2f} | {r / mib:.0f} | {seconds / 3600:.1f} h "
              f"| {r * DEADLINE_S / (1 << 30):.0f} GiB | {gb_s * PRICE['arm64']:.2f} "
              f"| {gb_s * PRICE['x86_64']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
