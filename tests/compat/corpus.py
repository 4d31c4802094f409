#!/usr/bin/env python3
"""Differential conformance test: csv2parquet vs DuckDB over DuckDB's CSV corpus (issue 18, item 4).

Usage: python3 tests/compat/corpus.py BINARY [--update] [--only SUBSTR] [--verbose]
(standard library, pyarrow and duckdb: tests/compat/requirements.txt, .venv/bin/python).

Every file under fixtures/duckdb-csv/csv (recursively: .csv, .tsv, .gz, .zst...) and
fixtures/csv-spectrum/csvs is read with default options on both sides: ours with
`BINARY convert FILE OUT.parquet` (two at a time), OUT read by pyarrow; DuckDB with
`SELECT * FROM read_csv(FILE, hive_partitioning=false)` in a persistent worker process (this script
with --duckdb-worker). hive_partitioning is the one non-default: DuckDB would add columns taken from
`key=value` directory names, which is not CSV. Each side has 20 s per file; a DuckDB worker that
does not answer is killed and restarted, so hangs are reported instead of stalling the run.

Classes, best to worst (the rank is what the baseline check compares):
  0 equal           same column names, row count, values and column kinds (after N1..N4); the
                    reason lists raw Arrow type differences, if any (int64 vs int32...)
  1 types_differ    names and values equal, kinds differ (our string "10:00:00" vs DuckDB's TIME)
  2 both_refuse     both error: many corpus files are meant to be rejected
  2 duckdb_refuses  we read it, DuckDB errors or hangs: more lenient; without an oracle for
                    what the file should hold that is not a fault, so it ranks with both_refuse
  3 values_differ   both read it, the tables differ: names, row count or the first differing cell
  3 ours_refuses    DuckDB reads it, we exit non-zero. Being stricter than DuckDB on a file it
                    reads is worse than both refusing, and as bad as reading it differently
  4 crash           our exit is a signal or 101 (panic), "panicked" in the output, a timeout
                    (hang), or an output pyarrow cannot read: always a failure
When DuckDB read a file we do not match, the reason starts with how DuckDB's sniffed dialect
(sniff_csv) departs from our defaults, e.g. "(duckdb: delim ';', no header)"; "no quoting" means
DuckDB disabled quoting and '"' is left in its data; "skip N" counts preamble lines; "lines as
one column" means DuckDB fell back to reading whole lines (ragged rows) as a single column.

Normalisation (each cell becomes a canonical string, or None for null):
  N1 Kinds: all integer widths are "int"; floats and decimals are "real" (compared numerically);
     date32/date64 "date"; time32/time64 "time"; timestamps "timestamp" (naive) or "timestamptz"
     at any unit; string, large_string and string_view "string". Other types keep their name.
  N2 Canonical text: ints in decimal; reals by Python's shortest repr, integral ones like ints
     (3.0 -> "3", so int vs real holding the same numbers is types_differ), "nan", "inf";
     booleans "true"/"false"; dates YYYY-MM-DD; times HH:MM:SS[.fraction]; timestamps
     "YYYY-MM-DD HH:MM:SS[.fraction]" (UTC plus "Z" for timestamptz), trailing fraction zeros
     dropped. A string cell is compared as it is with the other side's canonical text, so "007"
     vs the integer 7, or "1.50" vs 1.5, or "05:40" vs TIME 05:40:00, are values_differ.
  N3 Quoted empty string: DuckDB's default (allow_quoted_nulls) reads `""` as NULL, we keep it as
     '' in string columns (README, "Nulls"): our '' against DuckDB's NULL is equal.
  N4 Generated names: an empty header field is column_N for us (1-based) and columnN-1 for DuckDB
     (0-based, maybe zero-padded); a repeated name X becomes X_2, X_3... for us, X_1, X_2... for
     DuckDB. Names that differ only by these policies match; nothing else is normalised.

A baseline reason that starts with "deliberate:" marks a documented difference (we refuse ragged
rows, malformed quotes, empty and binary-looking input; comments are whole lines...); the run
prints how many of the differences are deliberate and how many are open.

Prints the totals per class and the headline (of the files DuckDB reads, how many are equal or
types_differ), also once per distinct content (the corpus has 156 copies of "42\n"). The baseline,
tests/compat/corpus-baseline.tsv, is described in its header. Without --update the exit status is
1 if a file crashed, got a worse class than in the baseline, or has no entry; better classes are
listed with a hint to run --update, which rewrites it (only the --only files, if given).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
CORPORA = [REPO / "fixtures/duckdb-csv/csv", REPO / "fixtures/csv-spectrum/csvs"]
BASELINE = Path(__file__).with_name("corpus-baseline.tsv")
TIMEOUT = 20  # seconds per file and side
REASON_MAX = 120
RANK = {"equal": 0, "types_differ": 1, "both_refuse": 2, "duckdb_refuses": 2,
        "values_differ": 3, "ours_refuses": 3, "crash": 4}
CLASSES = list(RANK)
READ_BY_DUCKDB = ("equal", "types_differ", "values_differ", "ours_refuses")
BASELINE_HEADER = """\
# Baseline of tests/compat/corpus.py: csv2parquet vs DuckDB read_csv (the duckdb pinned in
# tests/compat/requirements.txt), default options, over fixtures/duckdb-csv/csv and
# fixtures/csv-spectrum/csvs. path<TAB>class<TAB>reason per file, path from the repository root,
# sorted by path. Classes, best to worst: equal > types_differ > both_refuse = duckdb_refuses >
# values_differ = ours_refuses > crash. The test fails when a file crashes, gets a worse class
# than here, or has no line. `corpus.py BINARY --update` rewrites this file, keeping the reason
# of each file whose class did not change (so reasons may be edited by hand); other reasons are
# generated: our error, DuckDB's error, or the first difference, after DuckDB's sniffed dialect.
# A reason starting "deliberate:" is a documented difference, kept on purpose, with why.
"""


def shorten(text: str, limit: int = REASON_MAX) -> str:
    """One line of printable text (control characters escaped), at most `limit` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- ours ---------------------------------------------------------------------------------

def run_ours(binary: str, path: Path, out: Path) -> tuple[str, pa.Table | None, str]:
    """('ok', table, ''), ('refused', None, message) or ('crash', None, message)."""
    try:
        r = subprocess.run([binary, "convert", str(path), str(out)], capture_output=True,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "crash", None, f"ours: hang (killed after {TIMEOUT} s)"
    lines = (r.stdout + r.stderr).decode("utf-8", "replace").splitlines() or [""]
    if r.returncode < 0 or r.returncode == 101 or any("panicked" in ln for ln in lines):
        first = next((ln for ln in lines if "panicked" in ln), lines[-1])
        code = signal.Signals(-r.returncode).name if r.returncode < 0 else r.returncode
        return "crash", None, shorten(f"ours: exit {code}: {first}")
    if r.returncode != 0:
        msg = next((ln for ln in lines if ln.startswith("csv2parquet: error: ")), lines[-1])
        msg = msg.replace("csv2parquet: error: ", "").replace(f"{path}: ", "")
        msg = re.sub(r"^(?:record \d+, )?(line \d+), byte \d+", r"\1", msg)  # line suffices
        long_name = re.match(r'(.*?, column \d+ \()(".{20}).*"(\): .*)$', msg)
        if long_name:  # a long column name (a whole line, when the delimiter is not ',')
            msg = f'{long_name[1]}{long_name[2]}..."{long_name[3]}'
        code = "" if r.returncode == 65 else f"exit {r.returncode}: "
        return "refused", None, shorten(f"ours: {code}{msg}")
    try:
        table = pq.read_table(out)
    except Exception as e:  # our output must always be readable
        return "crash", None, shorten(f"ours: unreadable output: {e}")
    finally:
        out.unlink(missing_ok=True)
    return "ok", table, ""


# --- DuckDB -------------------------------------------------------------------------------

def duckdb_worker() -> None:
    """Worker loop: a JSON request {"path", "out"} per line; answers {"ok": bool, "error": str}."""
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    for line in sys.stdin:
        req = json.loads(line)
        try:
            table = con.sql("SELECT * FROM read_csv($p, hive_partitioning=false)",
                            params={"p": req["path"]}).to_arrow_table()
            with pa.ipc.new_file(req["out"], table.schema) as w:
                w.write_table(table)
            answer = {"ok": True, "dialect": sniffed(con, req["path"], table)}
        except Exception as e:  # every DuckDB error is a refusal
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)


def sniffed(con, path: str, table: pa.Table) -> str:
    """How DuckDB's sniffed dialect departs from our defaults, e.g. "(duckdb: delim ';') ".
    Quote "(empty)" is no quoting; it matters only when a '"' is left in the names or strings.
    A file DuckDB reads as one column has no delimiter: with ',' left in it, DuckDB fell back to
    reading whole lines (ragged rows), whatever delimiter sniff_csv names."""
    try:
        rel = con.sql("SELECT * FROM sniff_csv($p, hive_partitioning=false)", params={"p": path})
        d = dict(zip(rel.columns, rel.fetchall()[0]))
    except Exception:  # only a hint for the reason
        return ""
    non_iso = lambda fmt: bool(fmt) and not fmt.startswith("%Y-%m-%d")  # ISO 8601 we read
    left = lambda ch: any(ch in n for n in table.column_names) or any(  # ch in DuckDB's text?
        pc.any(pc.match_substring(c, ch)).as_py() for c in table.columns
        if pa.types.is_string(c.type) or pa.types.is_large_string(c.type))
    one_column = table.num_columns == 1  # then the delimiter was not used
    parts = ["lines as one column" if one_column and left(",") else "",
             f"delim {d['Delimiter']!r}" if d["Delimiter"] != "," and not one_column else "",
             "no quoting" if d["Quote"] == "(empty)" and left('"') else "",
             f"quote {d['Quote']!r}" if d["Quote"] not in ('"', "(empty)") else "",
             f"escape {d['Escape']!r}" if d["Escape"] not in ('"', "(empty)", d["Quote"]) else "",
             f"comment {d['Comment']!r}" if d["Comment"] != "(empty)" else "",
             f"skip {d['SkipRows']}" if d["SkipRows"] else "",
             "no header" if not d["HasHeader"] else "",
             f"dates {d['DateFormat']!r}" if non_iso(d["DateFormat"]) else "",
             f"timestamps {d['TimestampFormat']!r}" if non_iso(d["TimestampFormat"]) else ""]
    parts = [p for p in parts if p]
    return f"(duckdb: {', '.join(parts)}) " if parts else ""


def duckdb_reason(error: str, path: Path) -> str:
    """DuckDB's message, compacted: no file name, exception class, echoed line or advice."""
    keep = []
    for ln in error.replace(str(path), "FILE").splitlines():
        if ln.startswith(("Possible", "The search space", "  file = ")):
            break
        if ln.strip() and not ln.startswith("Original Line"):
            keep.append(ln.strip())
    text = re.sub(r"^\w+Exception: (?:[\w ]+ Error: )?", "", " ".join(keep))
    text = re.sub(r'Error when sniffing file "FILE"\. It was not possible to automatically '
                  r"detect the CSV parsing (\w+)", r"sniffing found no \1", text)
    return shorten("duckdb: " + re.sub(r"CSV Error on Line: (\d+)", r"line \1:", text))


class DuckDB:
    """The worker process; restarted after a hang or a crash."""

    def __init__(self, tmp: Path):
        self.tmp, self.proc = tmp, None

    def read(self, path: Path) -> tuple[str, pa.Table | None, str]:
        if self.proc is None:
            self.proc = subprocess.Popen([sys.executable, __file__, "--duckdb-worker"], text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        out = self.tmp / "duckdb.arrow"
        self.proc.stdin.write(json.dumps({"path": str(path), "out": str(out)}) + "\n")
        self.proc.stdin.flush()
        if not select.select([self.proc.stdout], [], [], TIMEOUT)[0]:
            self.stop()
            return "refused", None, f"duckdb: hang (no answer in {TIMEOUT} s)"
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.stop()
            return "refused", None, f"duckdb: crash (worker exit {code})"
        answer = json.loads(line)
        if not answer["ok"]:
            return "refused", None, duckdb_reason(answer["error"], path)
        with pa.memory_map(str(out)) as src:
            table = pa.ipc.open_file(src).read_all()
        out.unlink()
        return "ok", table, answer["dialect"]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


# --- normalisation ------------------------------------------------------------------------

KINDS = ((pa.types.is_integer, "int"), (pa.types.is_floating, "real"),
         (pa.types.is_decimal, "real"), (pa.types.is_boolean, "bool"),
         (pa.types.is_date, "date"), (pa.types.is_time, "time"),
         (pa.types.is_string, "string"), (pa.types.is_large_string, "string"),
         (pa.types.is_string_view, "string"))


def kind_of(t: pa.DataType) -> str:
    """N1."""
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    return next((kind for test, kind in KINDS if test(t)), str(t))


TEMPORAL = {"date": "%Y-%m-%d", "time": "%H:%M:%S", "timestamp": "%Y-%m-%d %H:%M:%S",
            "timestamptz": "%Y-%m-%d %H:%M:%S"}


def real_text(v) -> str:
    f = float(v)
    if f != f:
        return "nan"
    if f in (float("inf"), float("-inf")):
        return str(f)
    return str(int(f)) if f.is_integer() and abs(f) < 2**63 else repr(f)


def canonical(col: pa.ChunkedArray) -> list[str | None]:
    """N2: every cell of a column as canonical text (None for null)."""
    kind = kind_of(col.type)
    if kind in TEMPORAL:
        if kind == "timestamptz":  # the UTC instant, as a wall clock reading plus "Z"
            col = col.cast(pa.timestamp(col.type.unit))
        zone = "Z" if kind == "timestamptz" else ""
        return [None if s is None else (s.rstrip("0").rstrip(".") if "." in s else s) + zone
                for s in pc.strftime(col, format=TEMPORAL[kind]).to_pylist()]
    values = col.to_pylist()
    if kind == "real":
        return [None if v is None else real_text(v) for v in values]
    if kind == "bool":
        return [None if v is None else ("true" if v else "false") for v in values]
    return [None if v is None else str(v) for v in values]


def same_cell(ours: str | None, theirs: str | None) -> bool:
    return ours == theirs or (ours == "" and theirs is None)  # N3


GENERATED_OURS, GENERATED_DUCK = re.compile(r"column_(\d+)"), re.compile(r"column(\d+)")
RENAMED = re.compile(r"(.+)_\d+")


def same_name(i: int, ours: list[str], theirs: list[str]) -> bool:
    """N4."""
    a, b = ours[i], theirs[i]
    if a == b:
        return True
    ga, gb = GENERATED_OURS.fullmatch(a), GENERATED_DUCK.fullmatch(b)
    if ga and gb and int(ga[1]) == i + 1 and int(gb[1]) == i:
        return True
    ra, rb = RENAMED.fullmatch(a), RENAMED.fullmatch(b)
    return bool(ra and rb and ra[1] == rb[1] and ra[1] in ours[:i] and rb[1] in theirs[:i])


def compare(ours: pa.Table, theirs: pa.Table) -> tuple[str, str]:
    """(class, detail) for two tables that were both read."""
    names_a, names_b = ours.column_names, theirs.column_names
    if len(names_a) != len(names_b) or not all(
            same_name(i, names_a, names_b) for i in range(len(names_a))):
        return "values_differ", shorten(
            f"names: ours {len(names_a)} {names_a} vs duckdb {len(names_b)} {names_b}")
    cols_a = [canonical(c) for c in ours.columns]
    cols_b = [canonical(c) for c in theirs.columns]
    if ours.num_rows != theirs.num_rows:
        rows_a, rows_b = list(zip(*cols_a)), list(zip(*cols_b))
        r = next((r for r, (x, y) in enumerate(zip(rows_a, rows_b))
                  if not all(map(same_cell, x, y))), min(len(rows_a), len(rows_b)))
        show = lambda rows: shorten(repr(list(rows[r])), 45) if r < len(rows) else "none"
        first = f"; row {r + 1}: ours {show(rows_a)} vs duckdb {show(rows_b)}"
        return "values_differ", shorten(
            f"rows: ours {ours.num_rows} vs duckdb {theirs.num_rows}{first}")
    for i, (a, b) in enumerate(zip(cols_a, cols_b)):
        r = next((r for r, (x, y) in enumerate(zip(a, b)) if not same_cell(x, y)), None)
        if r is not None:
            return "values_differ", shorten(
                f"row {r + 1} column {names_a[i]!r}: ours {shorten(repr(a[r]), 30)} "
                f"({ours.field(i).type}) vs duckdb {shorten(repr(b[r]), 30)} "
                f"({theirs.field(i).type})")
    kinds = [(f.name, f.type, g.type) for f, g in zip(ours.schema, theirs.schema)]
    differ = [k for k in kinds if kind_of(k[1]) != kind_of(k[2])]
    raw = [k for k in kinds if k[1] != k[2]]
    detail = "; ".join(f"{n}: ours {a} vs duckdb {b}" for n, a, b in (differ or raw))
    return ("types_differ" if differ else "equal"), shorten(detail)


def classify(ours: tuple, theirs: tuple) -> tuple[str, str]:
    """ours and theirs: (outcome, table, message); DuckDB's message, when it read the file, is
    the sniffed dialect's difference from our defaults, the first thing to look at."""
    (ok_a, table_a, msg_a), (ok_b, table_b, msg_b) = ours, theirs
    if ok_a == "crash":
        return "crash", msg_a
    if ok_a == "refused" and ok_b == "refused":
        return "both_refuse", shorten(f"{shorten(msg_a, 58)} | {msg_b}")
    if ok_b == "refused":
        return "duckdb_refuses", msg_b
    if ok_a == "refused":
        return "ours_refuses", shorten(msg_b + msg_a)
    cls, detail = compare(table_a, table_b)
    return cls, (detail if cls == "equal" else shorten(msg_b + detail))


# --- baseline and report ------------------------------------------------------------------

def load_baseline() -> dict[str, tuple[str, str]]:
    lines = BASELINE.read_text(encoding="utf-8").splitlines() if BASELINE.exists() else []
    rows = ((ln.split("\t", 2) + ["", ""])[:3] for ln in lines if ln.strip() and ln[0] != "#")
    return {path: (cls, reason) for path, cls, reason in rows}


def write_baseline(entries: dict[str, tuple[str, str]]) -> None:
    lines = [f"{p}\t{c}\t{r}" for p, (c, r) in sorted(entries.items())]
    BASELINE.write_text(BASELINE_HEADER + "\n".join(lines) + "\n", encoding="utf-8")


def corpus_files(only: str | None) -> list[Path]:
    files = sorted(p for root in CORPORA for p in root.rglob("*") if p.is_file())
    return [p for p in files if only is None or only in str(p.relative_to(REPO))]


def summarize(results: dict[str, tuple[str, str]], digests: dict[str, str]) -> None:
    counts = {c: sum(1 for cls, _ in results.values() if cls == c) for c in CLASSES}
    print("totals: " + ", ".join(f"{c} {n}" for c, n in counts.items())
          + f" ({len(results)} files)")
    distinct = {digests[p]: cls for p, (cls, _) in results.items()}  # e.g. 156 copies of "42\n"
    for label, classes in (("files", [c for c, _ in results.values()]),
                           ("distinct contents", list(distinct.values()))):
        read = [c for c in classes if c in READ_BY_DUCKDB]
        n = {c: read.count(c) for c in READ_BY_DUCKDB}
        pct = lambda k: f"{100 * k / len(read):.1f}%" if read else "-"
        print(f"headline: of the {len(read)} {label} DuckDB reads, "
              f"{n['equal']} ({pct(n['equal'])}) are equal, "
              f"{n['types_differ']} ({pct(n['types_differ'])}) types_differ; "
              f"{n['values_differ']} values_differ, {n['ours_refuses']} ours_refuses")


def main() -> int:
    if sys.argv[1:2] == ["--duckdb-worker"]:
        duckdb_worker()
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", help="csv2parquet binary")
    ap.add_argument("--update", action="store_true", help=f"rewrite {BASELINE.name}")
    ap.add_argument("--only", metavar="SUBSTR", help="only the files whose path contains SUBSTR")
    ap.add_argument("--verbose", action="store_true", help="print every file's class and reason")
    args = ap.parse_args()
    start = time.monotonic()
    files = corpus_files(args.only)
    results: dict[str, tuple[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp, ThreadPoolExecutor(2) as pool:
        tmp = Path(tmp)
        ours = [pool.submit(run_ours, args.binary, f, tmp / f"{i}.parquet")
                for i, f in enumerate(files)]
        duck = DuckDB(tmp)
        try:
            for f, fut in zip(files, ours):
                rel = str(f.relative_to(REPO))
                results[rel] = classify(fut.result(), duck.read(f))
                if args.verbose or results[rel][0] == "crash" or ": hang (" in results[rel][1]:
                    print(f"{results[rel][0]:15} {rel}: {results[rel][1]}", flush=True)
        finally:
            duck.stop()

    baseline = load_baseline()
    rank = lambda rel: RANK.get(baseline[rel][0], 0)  # an unknown class counts as equal
    new = [r for r in results if r not in baseline]
    worse = [r for r, (c, _) in results.items() if r in baseline and RANK[c] > rank(r)]
    better = [r for r, (c, _) in results.items() if r in baseline and RANK[c] < rank(r)]
    changed = [r for r, (c, _) in results.items()
               if r in baseline and RANK[c] == rank(r) and c != baseline[r][0]]
    stale = [p for p in baseline if p not in results and (args.only is None or args.only in p)]
    for tag, rels in (("WORSE", worse), ("BETTER", better), ("CHANGED", changed),
                      ("NEW", [] if args.update else new), ("STALE", stale)):
        for r in rels:
            was, (now, reason) = baseline.get(r, ("-",))[0], results.get(r, ("-", "no such file"))
            print(f"{tag:8}{r}: {was} -> {now}: {reason}")
    summarize(results, {rel: hashlib.sha256((REPO / rel).read_bytes()).hexdigest()
                        for rel in results})
    # Of the files DuckDB reads that we do not read the same: those the baseline gives a
    # "deliberate:" reason (a documented difference), and the rest (open).
    unequal = [r for r, (c, _) in results.items() if c in ("values_differ", "ours_refuses")]
    deliberate = [r for r in unequal if r in baseline and baseline[r][0] == results[r][0]
                  and baseline[r][1].startswith("deliberate:")]
    print(f"differences: {len(deliberate)} deliberate (listed in {BASELINE.name}), "
          f"{len(unequal) - len(deliberate)} open")
    print(f"{len(files)} files in {time.monotonic() - start:.1f} s "
          f"(duckdb {metadata.version('duckdb')}, pyarrow {pa.__version__})")
    crashes = [r for r, (c, _) in results.items() if c == "crash"]
    if args.update:
        entries = {p: e for p, e in baseline.items() if p not in stale}
        for rel, (cls, reason) in results.items():
            keep = baseline.get(rel, ("", ""))
            entries[rel] = (cls, keep[1] if keep[0] == cls else reason)
        write_baseline(entries)
        print(f"wrote {BASELINE.relative_to(REPO)}: {len(entries)} files, {len(new)} new")
        return 1 if crashes else 0
    if better or changed or stale:
        print(f"{len(better)} better, {len(changed)} changed (as good), {len(stale)} stale: "
              "run with --update to record them")
    failed = set(crashes) | set(worse) | set(new)
    if failed:
        print(f"FAILED: {len(crashes)} crashed, {len(worse)} worse, {len(new)} not in the baseline")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
