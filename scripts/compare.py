#!/usr/bin/env python3
"""Throughput and output size: csv2parquet vs DuckDB, Polars, DataFusion, chDB and pyarrow on the
same generated CSV.

    .venv/bin/python scripts/compare.py [--size 1GiB] [--runs 3] [--compression zstd|snappy]
                                        [--shapes taxi,text,wide,wide3000] [--converters LIST]
                                        [--check] [--setup] [--scaling] [--s3] [--bin PATH]
                                        [--base-bin PATH] [--ours-args ARGS] [--workdir DIR] [--keep]

Generates each shape once with `csv2parquet generate --shape SHAPE --size SIZE --seed 1` (taxi,
text, wide = 1,000 columns, wide3000 = 3,000 columns, wide:N = N columns), or, for
`textgen[:quotes=Q/unicode=U/len=L]`, with scripts/textgen.py (text written by a generator
independent of ours: quoting share, non-ASCII share and message length as given), then for run 1..RUNS
runs every converter in turn on the same file (so slow drifts of a noisy machine hit all
converters alike; the order is rotated by one each run, so that no converter always starts right
after the same one: on this VM a process that frees a few GB makes the next one's fresh memory
slow to touch, and ours ran text in 1.83-2.03 s right after DataFusion against 1.48-1.59 s
alone), each in its own subprocess under `/usr/bin/time -v`, which gives the wall time
and the peak RSS of that process:

  ours            csv2parquet convert IN OUT --compression C --quiet [--ours-args ...]
  base            the same with --base-bin (another build, e.g. main before a change)
  duckdb          COPY (FROM read_csv('IN')) TO 'OUT' (FORMAT parquet, COMPRESSION C), threads=2
  duckdb-256MB    the same with SET memory_limit='256MB' (spills to the work directory)
  polars          pl.scan_csv(IN, try_parse_dates=True).sink_parquet(OUT, compression=C)
  datafusion      SessionContext(target_partitions=2).read_csv(IN).write_parquet(OUT, C) (its
                  default zstd level is 4)
  chdb            INSERT INTO FUNCTION file('OUT', Parquet) SELECT * FROM file('IN', CSVWithNames)
                  SETTINGS max_threads=2, output_format_parquet_compression_method=C
  pyarrow         pyarrow.csv.open_csv(IN, newlines_in_values=True, block_size=16MiB) streamed
                  batch by batch into pyarrow.parquet.ParquetWriter(OUT, compression=C)

Peers run as `python -c ...` children of /usr/bin/time, so their wall time includes the
interpreter start and the import of their library (a few tenths of a second; the start-up with
all the peers' imports is measured and printed once, so it can be subtracted by eye). MiB/s =
input bytes / 2^20 / wall. Every run's line gives its output size beside its throughput. The
table per shape gives medians over the runs, the output size of the last good run, ours/peer
throughput = our median MiB/s divided by the peer's (> 1: we are faster) and output/ours = the
peer's output size divided by ours (> 1: ours is smaller). A converter that fails on every run
(e.g. DataFusion refuses the text shape's doubled quotes before newlines) is a row saying
"refused" with the end of its error message, not a crash of the script.

--check (after the timed runs): keeps the last output of ours and of duckdb, then (1) reads ours
back whole with pyarrow, Polars and DuckDB and requires the three tables to be equal (DuckDB's
and Polars' Arrow types cast to pyarrow's first: this is what catches an encoding one reader
decodes differently), and (2) compares ours with DuckDB's own output, with DuckDB: row counts,
then `EXCEPT ALL` both ways over a normalized projection.
The two files need not have the same types (DuckDB's sniffer may choose DECIMAL or BIGINT where we
chose DOUBLE, VARCHAR where we chose TIMESTAMP, ...), so each column is projected to a common
form chosen from the pair of types:
  * both numeric (integers, floats, decimals)            -> CAST(x AS DOUBLE)
  * either side temporal (DATE/TIMESTAMP[/TZ], or text
    the other side parsed as one)                          -> TRY_CAST(x AS TIMESTAMP) as VARCHAR
                                                             (zoned values in UTC: TimeZone=UTC)
  * either side BOOLEAN                                     -> lower(CAST(x AS VARCHAR))
  * anything else                                          -> CAST(x AS VARCHAR), with NULL read as
                                                             '' because DuckDB's default read_csv
                                                             reads a quoted "" as NULL where we
                                                             keep the empty string
The check prints the per-column mapping and up to 5 differing rows each way, and fails (exit 1)
on any difference.

--s3 also runs s3 -> s3 conversions through an S3-compatible server on loopback: `csv2parquet
s3-server` (the embedded s3s-fs server of `csv2parquet local`) over the work directory, the input
uploaded once per shape with `csv2parquet upload`:

  ours-s3         csv2parquet convert s3://bench/in/SHAPE.csv s3://bench/out/... --endpoint-url E
  duckdb-s3       DuckDB httpfs (duckdb-extension-httpfs from PyPI, loaded by path): the same COPY
                  with an S3 secret (endpoint E, path style, no SSL), threads=2
  polars-s3       scan_csv(s3://..., storage_options).sink_parquet(s3://..., storage_options)

The server runs on the same 2 cores: its CPU seconds per run are measured (from /proc) and printed
beside each s3 run, so the s3 figures can be read against the local ones.

--setup creates .venv under the repository root (or --venv PATH) if missing, pip installs
pyarrow, duckdb==2.0.0, polars==2.1.0, datafusion==55.0.0 and chdb==4.4.0 into it, and re-runs
this script with the venv's python (e.g. `python3 scripts/compare.py --setup --size 256MiB
--runs 1`). duckdb-s3 also needs duckdb-extension-httpfs of the same version as duckdb; PyPI had
none for 2.0.0 (checked 2026-12-04, latest 1.5.5), so with 2.0.0 that row records a refusal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
TIME = "/usr/bin/time"
PEER_PACKAGES = ["pyarrow", "duckdb==2.0.0", "polars==2.1.0", "datafusion==55.0.0", "chdb==4.4.0"]

# The peers, as Python programs run with `python -c PROGRAM IN OUT CODEC WORKDIR`.
PEERS = {
    "duckdb": """
import sys, duckdb
src, out, codec, work = sys.argv[1:5]
con = duckdb.connect()
con.execute("SET threads=2")
con.execute(f"COPY (FROM read_csv('{src}')) TO '{out}' (FORMAT parquet, COMPRESSION {codec})")
""",
    "duckdb-256MB": """
import sys, duckdb
src, out, codec, work = sys.argv[1:5]
con = duckdb.connect()
con.execute("SET threads=2")
con.execute("SET memory_limit='256MB'")
con.execute(f"SET temp_directory='{work}/duckdb_spill'")
con.execute(f"COPY (FROM read_csv('{src}')) TO '{out}' (FORMAT parquet, COMPRESSION {codec})")
""",
    "polars": """
import sys, polars as pl
src, out, codec, work = sys.argv[1:5]
pl.scan_csv(src, try_parse_dates=True).sink_parquet(out, compression=codec)
""",
    "datafusion": """
import sys
from datafusion import SessionConfig, SessionContext
src, out, codec, work = sys.argv[1:5]
ctx = SessionContext(SessionConfig().with_target_partitions(2))
ctx.read_csv(src).write_parquet(out, compression=codec)
""",
    "chdb": """
import sys, chdb
src, out, codec, work = sys.argv[1:5]
chdb.query(f"INSERT INTO FUNCTION file('{out}', Parquet) SELECT * FROM file('{src}', CSVWithNames) "
           f"SETTINGS max_threads=2, output_format_parquet_compression_method='{codec}'")
""",
    "pyarrow": """
import sys, pyarrow.csv as pacsv, pyarrow.parquet as pq
src, out, codec, work = sys.argv[1:5]
reader = pacsv.open_csv(src, read_options=pacsv.ReadOptions(block_size=16 << 20),
                        parse_options=pacsv.ParseOptions(newlines_in_values=True))
with pq.ParquetWriter(out, reader.schema, compression=codec) as writer:
    for batch in reader:
        writer.write_batch(batch)
""",
}
# s3 -> s3 peers: `python -c PROGRAM IN OUT CODEC WORKDIR ENDPOINT` (IN/OUT are s3:// URLs).
S3_PEERS = {
    "duckdb-s3": """
import sys, os, pathlib, duckdb, duckdb_extension_httpfs
src, out, codec, work, endpoint = sys.argv[1:6]
ext = next(pathlib.Path(duckdb_extension_httpfs.__file__).parent.glob("extensions/*/httpfs.duckdb_extension"))
con = duckdb.connect()
con.execute(f"LOAD '{ext}'")
con.execute("SET threads=2")
host = endpoint.split("://", 1)[1]
con.execute(f\"\"\"CREATE SECRET (TYPE s3, KEY_ID '{os.environ['AWS_ACCESS_KEY_ID']}',
    SECRET '{os.environ['AWS_SECRET_ACCESS_KEY']}', REGION 'us-east-1', ENDPOINT '{host}',
    URL_STYLE 'path', USE_SSL false)\"\"\")
con.execute(f"COPY (FROM read_csv('{src}')) TO '{out}' (FORMAT parquet, COMPRESSION {codec})")
""",
    "polars-s3": """
import sys, os, polars as pl
src, out, codec, work, endpoint = sys.argv[1:6]
so = {"aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
      "aws_secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"],
      "aws_region": "us-east-1", "aws_endpoint_url": endpoint, "aws_allow_http": "true"}
pl.scan_csv(src, try_parse_dates=True, storage_options=so).sink_parquet(
    out, compression=codec, storage_options=so)
""",
}
S3_CONVERTERS = ["ours-s3", "duckdb-s3", "polars-s3"]
# Scaling: ours with one decode/encode worker, and ours pinned to one core (`taskset -c 0`).
# The ratio column then reads as the speed-up of the default (all cores) over them.
SCALING = ["ours-1w", "ours-1cpu"]
S3_BUCKET = "bench"
IMPORT_ONLY = "import duckdb, polars, pyarrow.csv, pyarrow.parquet, datafusion, chdb"
CONVERTERS = ["ours", "duckdb", "duckdb-256MB", "polars", "datafusion", "chdb", "pyarrow"]
# Extra arguments for ours (and base), e.g. "--memory-limit 2GiB" (--ours-args).
OURS_ARGS: list[str] = []


def generate_command(shape: str, binary: Path, size: str, out: Path) -> list[str]:
    """How a shape is generated: `textgen[:quotes=Q/unicode=U/len=L]` by scripts/textgen.py (a
    text generator written independently of ours), every other shape by `csv2parquet generate`."""
    if shape == "textgen" or shape.startswith("textgen:"):
        cmd = [sys.executable, str(REPO / "scripts" / "textgen.py"), "--size", size, "--seed", "1", "--quiet"]
        params = shape.partition(":")[2]
        names = {"quotes": "--quotes", "unicode": "--unicode", "len": "--field-len"}
        for item in filter(None, params.split("/")):
            key, _, value = item.partition("=")
            if key not in names or not value:
                raise SystemExit(f"bad textgen parameter {item!r} (quotes=Q/unicode=U/len=L)")
            cmd += [names[key], value]
        return cmd + [str(out)]
    return [str(binary), "generate", "--shape", shape, "--size", size, "--seed", "1", str(out)]


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 256MiB, 1GiB)")
    mult = {"B": 1, None: 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[m.group(2)]
    return int(float(m.group(1)) * mult)


def setup(venv: Path) -> None:
    """Create the venv and install the peers, then re-run ourselves in it without --setup."""
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"installing {' '.join(PEER_PACKAGES)} into {venv}", flush=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", *PEER_PACKAGES], check=True)
    args = [a for a in sys.argv[1:] if a != "--setup"]
    os.execv(str(py), [str(py), str(Path(__file__).resolve()), *args])


def machine_info() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1048576:.1f} GiB RAM"
    except (OSError, AttributeError):
        pass
    return [f"date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}",
            f"machine: nproc={os.cpu_count()}, cpu: {cpu}{mem}, {platform.platform()}"]


def versions(binary: Path) -> str:
    parts = []
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
        parts.append(out or "csv2parquet ?")
    except OSError:
        parts.append("csv2parquet ?")
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        if rev:
            parts.append(f"git {rev}{'+dirty' if dirty else ''}")
    except OSError:
        pass
    code = ("import sys, importlib.metadata as m\n"
            "def v(p):\n"
            "    try: return m.version(p)\n"
            "    except m.PackageNotFoundError: return 'missing'\n"
            "print(', '.join(f'{p} {v(p)}' for p in ('duckdb', 'polars', 'datafusion', 'chdb', 'pyarrow'))"
            " + f', python {sys.version.split()[0]}')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    parts.append(out.stdout.strip() if out.returncode == 0 else f"peers not importable: {out.stderr.strip()[-200:]}")
    return ", ".join(parts)


def parse_time_v(path: Path) -> tuple[float, int, int]:
    """(wall seconds, peak RSS bytes, exit status) from GNU time -v output."""
    text = path.read_text(errors="replace")
    wall = rss = None
    status = 0
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            value = line.rsplit(" ", 1)[1]  # h:mm:ss or m:ss.ss
            secs = 0.0
            for part in value.split(":"):
                secs = secs * 60 + float(part)
            wall = secs
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(" ", 1)[1]) * 1024
        elif line.startswith("Exit status"):
            status = int(line.rsplit(" ", 1)[1])
        elif line.startswith("Command terminated by signal"):
            status = 128 + int(line.rsplit(" ", 1)[1])
    if wall is None or rss is None:
        raise RuntimeError(f"could not read /usr/bin/time -v output: {text[-300:]}")
    return wall, rss, status


# --base-bin: another build of ours (e.g. main before a change), run as "base" (and "base-s3").
BASE_BINARY: Path | None = None


def command_for(name: str, binary: Path, src, out, codec: str, work: Path, endpoint: str = "") -> list[str]:
    if name in ("base", "base-s3") and BASE_BINARY is not None:
        binary, name = BASE_BINARY, {"base": "ours", "base-s3": "ours-s3"}[name]
    if name == "ours":
        return [str(binary), "convert", str(src), str(out), "--compression", codec, "--quiet", *OURS_ARGS]
    if name == "ours-1w":
        return [str(binary), "convert", str(src), str(out), "--compression", codec, "--quiet", "--workers", "1"]
    if name == "ours-1cpu":
        return ["taskset", "-c", "0", str(binary), "convert", str(src), str(out), "--compression", codec,
                "--quiet"]
    if name == "ours-s3":
        return [str(binary), "convert", str(src), str(out), "--compression", codec, "--quiet",
                "--endpoint-url", endpoint]
    if name in S3_PEERS:
        return [sys.executable, "-c", S3_PEERS[name], str(src), str(out), codec, str(work), endpoint]
    return [sys.executable, "-c", PEERS[name], str(src), str(out), codec, str(work)]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class S3Server:
    """`csv2parquet s3-server` over WORK/s3, with a bucket for the benchmark."""

    def __init__(self, binary: Path, work: Path):
        self.root = work / "s3"
        self.proc = subprocess.Popen(
            [str(binary), "s3-server", "--dir", str(self.root), "--listen", "127.0.0.1:0",
             "--bucket", S3_BUCKET], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.endpoint = self.proc.stdout.readline().strip()
        if not self.endpoint.startswith("http://"):
            raise RuntimeError("csv2parquet s3-server did not start")
        os.environ.update(AWS_ACCESS_KEY_ID="csv2parquet", AWS_SECRET_ACCESS_KEY="csv2parquet-local-secret",
                          AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")

    def path(self, url: str) -> Path:
        return self.root / url.removeprefix("s3://")

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def run_measured(cmd: list[str], work: Path) -> dict:
    tfile = work / "time.txt"
    errfile = work / "stderr.txt"
    with open(errfile, "wb") as err:
        p = subprocess.run([TIME, "-v", "-o", str(tfile), *cmd], stdout=subprocess.DEVNULL, stderr=err)
    wall, rss, status = parse_time_v(tfile)
    result = {"wall": wall, "rss": rss, "status": status or p.returncode}
    if result["status"] != 0:
        lines = errfile.read_text(errors="replace").strip().splitlines()
        result["error"] = " | ".join(lines[-3:])[-300:]
    return result


def mib(n: float) -> float:
    return n / (1 << 20)


def fmt_ratio(ours: float | None, peer: float | None) -> str:
    if not ours or not peer:
        return "-"
    return f"{ours / peer:.2f}x"


# ---------------------------------------------------------------------------------------------
# --check
# ---------------------------------------------------------------------------------------------

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
           "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")
TEMPORAL = ("DATE", "TIMESTAMP")


def is_numeric(t: str) -> bool:
    return t.startswith(NUMERIC)


def is_temporal(t: str) -> bool:
    return t.startswith(TEMPORAL)


def projection(col: str, mine: str, theirs: str) -> tuple[str, str]:
    """SQL expression template ({c} = quoted column) and a label, for a pair of types."""
    if is_numeric(mine) and is_numeric(theirs):
        return "CAST({c} AS DOUBLE)", "DOUBLE"
    if is_temporal(mine) or is_temporal(theirs):
        # TIMESTAMPTZ -> TIMESTAMP is the UTC wall time (TimeZone=UTC); text is parsed.
        return "CAST(TRY_CAST({c} AS TIMESTAMP) AS VARCHAR)", "TIMESTAMP text"
    if mine == "BOOLEAN" or theirs == "BOOLEAN":
        return "lower(CAST({c} AS VARCHAR))", "lower(VARCHAR)"
    return "coalesce(CAST({c} AS VARCHAR), '')", "VARCHAR, NULL as ''"


def check_outputs(ours: Path, theirs: Path) -> bool:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET threads=2")

    def q(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    def ident(s: str) -> str:
        return '"' + s.replace('"', '""') + '"'

    def schema(p: Path) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({q(str(p))})").fetchall()]

    a, b = schema(ours), schema(theirs)
    ok = True
    if [n for n, _ in a] != [n for n, _ in b]:
        print(f"  column names differ: ours {[n for n, _ in a]} vs duckdb {[n for n, _ in b]}")
        return False
    na = con.execute(f"SELECT count(*) FROM read_parquet({q(str(ours))})").fetchone()[0]
    nb = con.execute(f"SELECT count(*) FROM read_parquet({q(str(theirs))})").fetchone()[0]
    print(f"  rows: ours {na}, duckdb {nb} -> {'same' if na == nb else 'DIFFERENT'}")
    ok &= na == nb
    exprs_a, exprs_b = [], []
    for (name, ta), (_, tb) in zip(a, b):
        tmpl, label = projection(name, ta, tb)
        print(f"  {name}: ours {ta} / duckdb {tb} -> compared as {label}")
        exprs_a.append(tmpl.format(c=ident(name)) + f" AS {ident(name)}")
        exprs_b.append(tmpl.format(c=ident(name)) + f" AS {ident(name)}")
    sa = f"SELECT {', '.join(exprs_a)} FROM read_parquet({q(str(ours))})"
    sb = f"SELECT {', '.join(exprs_b)} FROM read_parquet({q(str(theirs))})"
    for label, x, y in (("ours EXCEPT ALL duckdb", sa, sb), ("duckdb EXCEPT ALL ours", sb, sa)):
        n = con.execute(f"SELECT count(*) FROM ({x} EXCEPT ALL {y})").fetchone()[0]
        print(f"  {label}: {n} rows")
        if n:
            ok = False
            for row in con.execute(f"{x} EXCEPT ALL {y} LIMIT 5").fetchall():
                print(f"    {row}")
    con.close()
    return ok


def check_readers(path: Path) -> bool:
    """Read `path` whole with pyarrow, Polars and DuckDB; the three tables must be equal."""
    import duckdb
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    reference = pq.read_table(path)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET threads=2")
    lit = "'" + str(path).replace("'", "''") + "'"
    others = {
        "polars": lambda: pl.read_parquet(path).to_arrow(),
        "duckdb": lambda: con.sql(f"SELECT * FROM read_parquet({lit})").to_arrow_table(),
    }
    ok = True
    for name, read in others.items():
        try:
            table = read()
            table = pa.Table.from_arrays(
                [col.cast(field.type) for col, field in zip(table.columns, reference.schema)],
                schema=reference.schema)
            same = table.num_rows == reference.num_rows and table.equals(reference)
        except Exception as e:  # a reader that cannot read the file fails the check
            print(f"  {name}: could not read or cast: {str(e)[:300]}")
            same = False
        print(f"  read back by pyarrow and {name}: {reference.num_rows} rows, "
              f"{reference.num_columns} columns -> {'equal' if same else 'DIFFERENT'}")
        ok &= same
    con.close()
    return ok


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description="csv2parquet vs DuckDB, Polars, DataFusion, chDB and pyarrow: "
                                 "throughput and output size")
    ap.add_argument("--size", default="1GiB", help="generated CSV size per shape (default 1GiB)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per converter (default 3)")
    ap.add_argument("--compression", default="zstd", choices=["zstd", "snappy"],
                    help="Parquet codec for every converter (default zstd)")
    ap.add_argument("--shapes", default="taxi,text",
                    help="comma-separated shapes: taxi, text, wide (1,000 columns), wide3000, wide:N, textgen[:quotes=Q/unicode=U/len=L] "
                    "(default taxi,text)")
    ap.add_argument("--converters", default=",".join(CONVERTERS),
                    help=f"comma-separated subset of {','.join(CONVERTERS)}")
    ap.add_argument("--check", action="store_true", help="also compare our output with DuckDB's")
    ap.add_argument("--scaling", action="store_true",
                    help="also run ours with --workers 1 and pinned to one core (taskset -c 0)")
    ap.add_argument("--s3", action="store_true",
                    help="also run s3 -> s3 (ours, DuckDB httpfs, Polars) through a loopback S3 server")
    ap.add_argument("--setup", action="store_true", help="create the venv with the peers and re-run in it")
    ap.add_argument("--venv", default=str(VENV), help=f"venv for --setup (default {VENV})")
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "csv2parquet"))
    ap.add_argument("--base-bin", help="another csv2parquet build to run beside ours as 'base' "
                    "(before/after a change in one run)")
    ap.add_argument("--ours-args", default="",
                    help="extra arguments for ours and base, e.g. '--memory-limit 2GiB'")
    ap.add_argument("--workdir", help="where inputs and outputs go (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    if args.setup:
        setup(Path(args.venv))  # does not return
    if not Path(TIME).exists():
        print(f"compare: GNU time not found at {TIME} (apt-get install time)", file=sys.stderr)
        return 2
    binary = Path(args.bin).resolve()
    if not binary.exists():
        print(f"compare: no binary at {binary} (cargo build --release)", file=sys.stderr)
        return 2
    size = parse_size(args.size)
    OURS_ARGS.extend(shlex.split(args.ours_args))
    shapes = [s for s in args.shapes.split(",") if s]
    converters = [c for c in args.converters.split(",") if c]
    if args.base_bin:
        global BASE_BINARY
        BASE_BINARY = Path(args.base_bin).resolve()
        CONVERTERS.append("base")
        S3_CONVERTERS.append("base-s3")
        if "base" not in converters:
            converters.insert(1 if "ours" in converters else 0, "base")
    for c in converters:
        if c not in CONVERTERS + S3_CONVERTERS + SCALING:
            ap.error(f"unknown converter {c!r}")
    if "ours" not in converters:
        converters.insert(0, "ours")
    if args.scaling:
        converters[1:1] = [c for c in SCALING if c not in converters]
    if args.s3:
        converters += [c for c in S3_CONVERTERS if c not in converters]

    print("# csv2parquet throughput comparison")
    print()
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    for line in machine_info():
        print(line)
    print(f"versions: {versions(binary)}")
    print(f"size: {args.size} per shape, runs: {args.runs}, compression: {args.compression}"
          f"{', ours with ' + args.ours_args if args.ours_args else ''}")
    print(flush=True)

    work_root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="csv2parquet-compare-"))
    work_root.mkdir(parents=True, exist_ok=True)
    failed = False
    server = None
    try:
        if any(c in S3_CONVERTERS for c in converters):
            server = S3Server(binary, work_root)
            print(f"S3 server: csv2parquet s3-server on {server.endpoint} (pid {server.proc.pid})", flush=True)
        # python + import overhead of the peers' children (subtract by eye)
        overhead = run_measured([sys.executable, "-c", IMPORT_ONLY], work_root)
        print(f"python start + import of all the peers' libraries together: {overhead['wall']:.2f} s, "
              f"{mib(overhead['rss']):.0f} MiB RSS (an upper bound of the start-up each peer's wall time "
              f"includes; each peer imports only its own library)")
        print(flush=True)
        for shape in shapes:
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", shape)
            src = work_root / f"{stem}.csv"
            t0 = time.monotonic()
            subprocess.run(generate_command(shape, binary, args.size, src), check=True)
            in_bytes = src.stat().st_size
            print(f"## {shape}: {mib(in_bytes):.1f} MiB input (generated in {time.monotonic() - t0:.1f} s)",
                  flush=True)
            s3_src = f"s3://{S3_BUCKET}/in/{stem}.csv"
            if server:
                subprocess.run([str(binary), "upload", str(src), s3_src, "--endpoint-url", server.endpoint],
                               check=True, stdout=subprocess.DEVNULL)
            results: dict[str, list[dict]] = {c: [] for c in converters}
            out_sizes: dict[str, int] = {}
            for run in range(1, args.runs + 1):
                shift = (run - 1) % len(converters)
                for conv in converters[shift:] + converters[:shift]:
                    is_s3 = conv in S3_CONVERTERS
                    if is_s3:
                        out_url = f"s3://{S3_BUCKET}/out/{stem}.{conv}.parquet"
                        out = server.path(out_url)
                        cmd = command_for(conv, binary, s3_src, out_url, args.compression, work_root,
                                          server.endpoint)
                    else:
                        out = work_root / f"{stem}.{conv}.parquet"
                        cmd = command_for(conv, binary, src, out, args.compression, work_root)
                    out.unlink(missing_ok=True)
                    spill = work_root / "duckdb_spill"
                    shutil.rmtree(spill, ignore_errors=True)
                    cpu0 = server.cpu() if is_s3 else 0.0
                    r = run_measured(cmd, work_root)
                    if is_s3:
                        r["server_cpu"] = server.cpu() - cpu0
                    if r["status"] == 0 and out.exists():
                        out_sizes[conv] = out.stat().st_size
                    elif r["status"] == 0:
                        r["status"], r["error"] = -1, "no output file"
                    results[conv].append(r)
                    state = "ok" if r["status"] == 0 else f"FAILED ({r['status']}): {r.get('error', '')}"
                    server_note = f"  server CPU {r['server_cpu']:5.1f} s" if is_s3 else ""
                    out_note = f"{mib(out.stat().st_size):7.1f} MiB out" if r["status"] == 0 else "      - MiB out"
                    print(f"  run {run} {conv:<13} {r['wall']:7.2f} s  {mib(in_bytes) / r['wall']:7.1f} MiB/s  "
                          f"{out_note}  {mib(r['rss']):6.0f} MiB RSS{server_note}  {state}", flush=True)
                    if not (args.check and conv in ("ours", "duckdb")) or run != args.runs:
                        out.unlink(missing_ok=True)
            shutil.rmtree(work_root / "duckdb_spill", ignore_errors=True)

            def med(conv: str, key: str) -> float | None:
                ok = [r[key] for r in results[conv] if r["status"] == 0]
                return statistics.median(ok) if ok else None

            ours_wall = med("ours", "wall")
            ours_mibs = mib(in_bytes) / ours_wall if ours_wall else None
            print()
            print(f"| {shape} ({mib(in_bytes):.0f} MiB, {args.compression}) | median MiB/s | median peak RSS MiB "
                  f"| output MiB | ours/peer throughput | output/ours | server CPU s |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            ours_s3_wall = med("ours-s3", "wall") if "ours-s3" in converters else None
            ours_s3_mibs = mib(in_bytes) / ours_s3_wall if ours_s3_wall else None
            for conv in converters:
                ref = ours_s3_mibs if conv in S3_CONVERTERS else ours_mibs
                server_cpu = med(conv, "server_cpu") if conv in S3_CONVERTERS else None
                wall = med(conv, "wall")
                rss = med(conv, "rss")
                n_ok = sum(1 for r in results[conv] if r["status"] == 0)
                if n_ok == 0:
                    error = next((r.get("error", "") for r in results[conv]), "").replace("|", "/")
                    print(f"| {conv} | refused: {error[-160:]} | - | - | - | - | - |")
                    continue
                note = "" if n_ok == len(results[conv]) else f" ({len(results[conv]) - n_ok}/{len(results[conv])} failed)"
                mibs = mib(in_bytes) / wall if wall else None
                ours_out = out_sizes.get("ours-s3" if conv in S3_CONVERTERS else "ours")
                print(f"| {conv}{note} | {f'{mibs:.1f}' if mibs else 'failed'} | "
                      f"{f'{mib(rss):.0f}' if rss else '-'} | "
                      f"{f'{mib(out_sizes[conv]):.1f}' if conv in out_sizes else '-'} | "
                      f"{'1.00x' if conv in ('ours', 'ours-s3') else fmt_ratio(ref, mibs)} | "
                      f"{fmt_ratio(out_sizes.get(conv), ours_out)} | "
                      f"{f'{server_cpu:.1f}' if server_cpu is not None else '-'} |")
            print(flush=True)

            if args.check:
                ours_out = work_root / f"{stem}.ours.parquet"
                duck_out = work_root / f"{stem}.duckdb.parquet"
                print(f"check ({shape}): ours read back by pyarrow, Polars and DuckDB; ours vs duckdb")
                if not ours_out.exists() or not duck_out.exists():
                    print("  FAILED: an output is missing (a converter failed)")
                    failed = True
                else:
                    good = check_readers(ours_out)
                    good &= check_outputs(ours_out, duck_out)
                    print(f"  check {shape}: {'PASS' if good else 'FAIL'}")
                    failed |= not good
                ours_out.unlink(missing_ok=True)
                duck_out.unlink(missing_ok=True)
                print(flush=True)
            src.unlink(missing_ok=True)
            if server:
                server.path(s3_src).unlink(missing_ok=True)
    finally:
        if server:
            server.stop()
        if args.keep:
            print(f"work directory kept: {work_root}")
        elif not args.workdir:
            shutil.rmtree(work_root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
