#!/usr/bin/env python3
"""Compatibility test: csv2parquet's Parquet vs what pyarrow and DuckDB read from the same CSV.

Usage:
    python3 tests/compat/check.py [BINARY] [--keep DIR] [--only NAME] [--max-diffs N]

BINARY defaults to target/release/csv2parquet (relative to the repository root). Needs
python3 with pyarrow and duckdb (the project venv: .venv/bin/python).

Inputs: every fixtures/compat/*.csv, plus two generated files
(`csv2parquet generate --shape taxi|text --size 2MiB`) written to a temporary directory.

For each input:
  1. Convert it with our CLI (`convert CSV OUT --json`), and a second time through stdin with a
     small budget (`convert - OUT --memory-limit 16MiB --row-group-rows 1000`), which forces many
     chunks and row groups; the second file must hold exactly the same schema and values.
  2. Read our Parquet with pyarrow and with DuckDB.
  3. Read the CSV with pyarrow.csv and with DuckDB's read_csv, telling both our column types
     (so that the comparison is about values, not about type inference).
  4. Compare the row count and every cell of: ours-via-pyarrow and ours-via-DuckDB, each against
     pyarrow.csv and against DuckDB read_csv. Floats are compared bit for bit (so -0.0 != 0.0),
     timestamps as integer instants since the epoch (UTC instants for zoned columns, wall clock
     as-if-UTC for naive ones), dates as day numbers. The logical kind of each column must agree
     too (e.g. DuckDB must see our zoned timestamps as TIMESTAMPTZ and naive ones as TIMESTAMP).
  5. If fixtures/compat/expected_types.json lists the file, the types we inferred must match it.

Documented rules (places where the peers differ from us, or from each other, on a genuine
ambiguity; we compare on the rule below instead of hiding the difference):
  R1 Quoted empty string. `""` in a string column is the empty string, an unquoted empty field is
     null. pyarrow: quoted_strings_can_be_null=False. DuckDB's default (allow_quoted_nulls=true)
     reads `""` as NULL; we pass allow_quoted_nulls=false. In a typed (non-string) column we read
     `""` as null (there is no empty number); with the options above both peers reject it as an
     invalid value, so typed columns are read by the peers in a second pass with quoted nulls
     allowed (pyarrow quoted_strings_can_be_null=True, DuckDB allow_quoted_nulls=true).
  R2 NaN. Compared as "is NaN": the sign and payload of a NaN are ignored (Arrow and DuckDB both
     read "-nan" as a positive NaN; we keep the sign).
  R3 Nanosecond instants. DuckDB's TIMESTAMPTZ has microsecond resolution (there is no
     TIMESTAMP_NS WITH TIME ZONE), so for a timestamp[ns, UTC] column the values DuckDB reads
     (from the CSV, or from our Parquet) are compared with ours floored to microseconds.
  R4 Leading '+' on integers. Arrow's integer parser rejects "+5" (we and DuckDB accept it). When
     pyarrow fails on such a value, that column is read by pyarrow as text and converted with the
     grammar [+-]?[0-9]+ (Python int()); a note is printed. DuckDB still parses it natively.
  R5 Null and boolean spellings. Only the empty unquoted field is null for us; pyarrow's defaults
     also treat "NULL", "NaN", "N/A"... as null, so null_values=[""] is passed. We accept
     true/false in any ASCII case; pyarrow gets every case spelling as true_values/false_values.
     DuckDB: nullstr=''.
  R6 Blank lines. We and pyarrow skip empty lines. DuckDB skips them too in a file with several
     columns, but in a one-column file it reads an empty line as a record whose only field is
     null. For one-column files the rows DuckDB produced from empty lines are dropped: those are
     exactly the rows that are NULL when the column is read as VARCHAR with
     allow_quoted_nulls=false (an empty field there can only be an empty line; a quoted "" stays
     ''). A note with the number of dropped rows is printed.
  R7 Milliseconds. DuckDB reads a Parquet TIMESTAMP(MILLIS) column (with or without a zone) as
     microseconds (TIMESTAMP, TIMESTAMPTZ); the instants are compared exactly, in nanoseconds.

Besides the fixtures and the generated files, one synthetic file (long_fields.csv, written by
this script, ~3 MiB) has records of up to ~700 KiB with quoted line breaks, CRLF, doubled quotes
and multi-byte characters, so that single records span many of the 256 KiB chunks of the
--memory-limit 16MiB run.

The last line is exactly `N passed, M failed`; the exit status is 1 if any file failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "compat"
GENERATED = [("generated_taxi_2MiB.csv", "taxi"), ("generated_text_2MiB.csv", "text")]


def case_spellings(word: str) -> list[str]:
    """Every ASCII case spelling of a word (R5)."""
    return ["".join(p) for p in itertools.product(*[(c.lower(), c.upper()) for c in word])]


TRUE_VALUES = case_spellings("true")
FALSE_VALUES = case_spellings("false")
INT_RE = re.compile(r"^[+-]?[0-9]+$")
NAN = "NaN"  # normalized form of every NaN (R2)


class Mismatch(Exception):
    """A failed check; the message says what differed."""


# --------------------------------------------------------------------------------------------
# Normalization: every column becomes (kind, unit, values) with plain Python values.
# --------------------------------------------------------------------------------------------

NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def kind_of(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp_utc" if t.tz else "timestamp"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def float_key(v):
    if v is None:
        return None
    if math.isnan(v):
        return NAN
    return struct.unpack("<q", struct.pack("<d", v))[0]


def normalize(col: pa.ChunkedArray | pa.Array) -> tuple[str, str | None, list]:
    """(kind, timestamp unit or None, comparable values)."""
    t = col.type
    kind = kind_of(t)
    if kind == "float":
        return kind, None, [float_key(v) for v in col.to_pylist()]
    if kind in ("timestamp", "timestamp_utc"):
        ints = col.cast(pa.int64()).to_pylist()
        f = NS_PER[t.unit]
        return kind, t.unit, [None if v is None else v * f for v in ints]
    if kind == "date":
        if pa.types.is_date64(t):
            return kind, None, [None if v is None else v // 86_400_000 for v in col.cast(pa.int64()).to_pylist()]
        return kind, None, col.cast(pa.int32()).to_pylist()
    if kind == "decimal":
        return kind, None, [None if v is None else str(v) for v in col.to_pylist()]
    return kind, None, col.to_pylist()


def show(kind, v):
    """A value in a readable form for failure messages."""
    if v is None:
        return "null"
    if kind == "float" and v != NAN:
        return repr(struct.unpack("<d", struct.pack("<q", v))[0])
    if kind in ("timestamp", "timestamp_utc"):
        return f"{v}ns"
    return repr(v)


def compare_tables(ours: pa.Table, peer: pa.Table, ours_name: str, peer_name: str,
                   duckdb_involved: bool, max_diffs: int) -> list[str]:
    """Every difference between two tables, as messages (at most max_diffs cell messages)."""
    problems: list[str] = []
    if ours.num_columns != peer.num_columns:
        return [f"{ours_name} has {ours.num_columns} columns, {peer_name} has {peer.num_columns}"]
    if ours.num_rows != peer.num_rows:
        problems.append(f"{ours_name} has {ours.num_rows} rows, {peer_name} has {peer.num_rows}")
    cells = 0
    for i, name in enumerate(ours.column_names):
        ok, ou, ov = normalize(ours.column(i))
        pk, pu, pv = normalize(peer.column(i))
        if ok != pk:
            problems.append(f"column {name!r}: {ours_name} type {ours.schema.field(i).type} "
                            f"({ok}) vs {peer_name} type {peer.schema.field(i).type} ({pk})")
            continue
        if ou != pu and ok == "timestamp_utc" and duckdb_involved and {ou, pu} == {"ns", "us"}:
            # R3: DuckDB's TIMESTAMPTZ is microseconds; compare the ns side floored to microseconds.
            if ou == "ns":
                ov = [None if v is None else (v // 1000) * 1000 for v in ov]
            else:
                pv = [None if v is None else (v // 1000) * 1000 for v in pv]
        elif ou != pu and duckdb_involved and {ou, pu} == {"ms", "us"}:
            pass  # R7: DuckDB reads milliseconds as microseconds; the ns instants compare exactly.
        elif ou != pu:
            problems.append(f"column {name!r}: unit {ou} vs {pu}")
            continue
        if ov == pv:
            continue
        for r, (a, b) in enumerate(zip(ov, pv)):
            if a != b:
                cells += 1
                if cells <= max_diffs:
                    problems.append(f"row {r} column {name!r}: {ours_name}={show(ok, a)} "
                                    f"{peer_name}={show(ok, b)}")
    if cells > max_diffs:
        problems.append(f"... {cells - max_diffs} more differing cells")
    return problems


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------

def duck_connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    return con


def duck_type(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_float32(t):
        return "FLOAT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_date32(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        if t.tz:
            return "TIMESTAMPTZ"  # microseconds only (R3)
        return {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "us": "TIMESTAMP", "ns": "TIMESTAMP_NS"}[t.unit]
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "VARCHAR"
    raise Mismatch(f"no DuckDB type for {t}")


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def sql_ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def read_ours_duckdb(con, parquet: Path) -> pa.Table:
    return con.execute(f"SELECT * FROM read_parquet({sql_str(str(parquet))})").to_arrow_table()


def read_csv_duckdb(con, csv: Path, schema: pa.Schema, notes: list[str]) -> pa.Table:
    """DuckDB read_csv with our column types; string and typed columns read per rule R1."""
    columns = "{" + ", ".join(f"{sql_str(f.name)}: {sql_str(duck_type(f.type))}" for f in schema) + "}"
    names = schema.names
    strings = [f.name for f in schema if kind_of(f.type) == "string"]
    typed = [n for n in names if n not in strings]

    def select(cols: list[str], quoted_nulls: bool) -> pa.Table:
        sql = (f"SELECT {', '.join(sql_ident(c) for c in cols)} FROM read_csv({sql_str(str(csv))}, "
               f"header=true, auto_detect=false, delim=',', quote='\"', escape='\"', nullstr='', "
               f"allow_quoted_nulls={'true' if quoted_nulls else 'false'}, strict_mode=true, "
               f"columns={columns})")
        return con.execute(sql).to_arrow_table()

    parts = {}
    if strings:
        t = select(strings, quoted_nulls=False)
        parts.update({n: t.column(n) for n in strings})
    if typed:
        t = select(typed, quoted_nulls=True)
        parts.update({n: t.column(n) for n in typed})
    table = pa.table([parts[n] for n in names], names=names)
    if len(names) == 1:
        # R6: in a one-column file DuckDB reads an empty line as a null record; drop those rows.
        columns = "{" + f"{sql_str(names[0])}: 'VARCHAR'" + "}"
        raw = con.execute(
            f"SELECT {sql_ident(names[0])} IS NOT NULL AS keep FROM read_csv({sql_str(str(csv))}, "
            f"header=true, auto_detect=false, delim=',', quote='\"', escape='\"', nullstr='', "
            f"allow_quoted_nulls=false, strict_mode=true, columns={columns})").to_arrow_table()
        keep = raw.column("keep").combine_chunks()
        dropped = len(keep) - sum(1 for k in keep.to_pylist() if k)
        if dropped:
            table = table.filter(keep)
            notes.append(f"R6: dropped {dropped} rows DuckDB read from empty lines of a one-column file")
    return table


def csv_header_pyarrow(csv: Path) -> list[str]:
    return pacsv.open_csv(csv, parse_options=pacsv.ParseOptions(newlines_in_values=True),
                          convert_options=pacsv.ConvertOptions(null_values=[""])).schema.names


def read_csv_pyarrow(csv: Path, schema: pa.Schema, notes: list[str]) -> pa.Table:
    """pyarrow.csv with our column types; rules R1, R4, R5."""
    parse = pacsv.ParseOptions(newlines_in_values=True)
    names = schema.names
    types = {f.name: f.type for f in schema}
    strings = [f.name for f in schema if kind_of(f.type) == "string"]
    typed = [n for n in names if n not in strings]
    as_text: list[str] = []  # int columns read as text (R4)

    def read(cols: list[str], col_types: dict, quoted_nulls: bool) -> pa.Table:
        conv = pacsv.ConvertOptions(
            column_types=col_types, include_columns=cols, null_values=[""],
            true_values=TRUE_VALUES, false_values=FALSE_VALUES,
            strings_can_be_null=True, quoted_strings_can_be_null=quoted_nulls)
        return pacsv.read_csv(csv, parse_options=parse, convert_options=conv)

    parts = {}
    if strings:
        t = read(strings, {n: pa.string() for n in strings}, quoted_nulls=False)
        parts.update({n: t.column(n) for n in strings})
    while typed:
        col_types = {n: (pa.string() if n in as_text else types[n]) for n in typed}
        try:
            t = read(typed, col_types, quoted_nulls=True)
            break
        except pa.ArrowInvalid as e:
            m = re.search(r"In CSV column #(\d+): .*conversion error to int\d+: invalid value '\+", str(e))
            header = csv_header_pyarrow(csv)
            idx = int(m.group(1)) if m else -1
            name = header[idx] if 0 <= idx < len(header) else None
            if name is None or name in as_text or name not in typed:
                raise
            as_text.append(name)
            notes.append(f"R4: pyarrow rejects '+' on int column {name!r}; read as text + int()")
    for n in typed:
        col = t.column(n)
        if n in as_text:
            vals = []
            for v in col.to_pylist():
                if v is None:
                    vals.append(None)
                elif INT_RE.match(v) and -(2**63) <= int(v) < 2**63:
                    vals.append(int(v))
                else:
                    raise Mismatch(f"pyarrow (R4 fallback): {v!r} in column {n!r} is not an integer")
            col = pa.chunked_array([pa.array(vals, type=types[n])])
        parts[n] = col
    return pa.table([parts[n] for n in names], names=names)


# --------------------------------------------------------------------------------------------
# Our converter
# --------------------------------------------------------------------------------------------

def run_ours(binary: Path, csv: Path, out: Path, stdin_small: bool) -> dict:
    if stdin_small:
        cmd = [str(binary), "convert", "-", str(out), "--json", "--memory-limit", "16MiB",
               "--row-group-rows", "1000"]
        with open(csv, "rb") as f:
            p = subprocess.run(cmd, stdin=f, capture_output=True, timeout=600)
    else:
        cmd = [str(binary), "convert", str(csv), str(out), "--json"]
        p = subprocess.run(cmd, capture_output=True, timeout=600)
    if p.returncode != 0:
        raise Mismatch(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise Mismatch(f"`{' '.join(cmd)}` printed no JSON report ({e}): {p.stdout[:200]!r}")


def check_file(binary: Path, csv: Path, work: Path, expected_types: dict, max_diffs: int) -> tuple[str, list[str]]:
    """Returns (summary, notes) or raises Mismatch."""
    notes: list[str] = []
    problems: list[str] = []
    out = work / (csv.stem + ".parquet")
    out_small = work / (csv.stem + ".stdin.parquet")
    report = run_ours(binary, csv, out, stdin_small=False)
    ours = pq.read_table(out)
    schema = ours.schema
    if report.get("rows") != ours.num_rows:
        problems.append(f"--json report says rows={report.get('rows')} but the file has {ours.num_rows}")

    # 5. expected inferred types
    want = expected_types.get(csv.name)
    if want is not None:
        got = {f.name: str(f.type) for f in schema}
        if got != want:
            diff = {k: (got.get(k), want.get(k)) for k in sorted(set(got) | set(want)) if got.get(k) != want.get(k)}
            problems.append(f"inferred types differ from expected_types.json (got, want): {diff}")

    # column names: ours vs the CSV header as pyarrow reads it
    header = csv_header_pyarrow(csv)
    if header != schema.names:
        problems.append(f"column names: ours {schema.names} vs pyarrow header {header}")
        raise Mismatch("; ".join(problems))

    con = duck_connect()
    try:
        ours_duck = read_ours_duckdb(con, out)
        ref_pa = read_csv_pyarrow(csv, schema, notes)
        ref_duck = read_csv_duckdb(con, csv, schema, notes)
    except Mismatch as e:
        raise Mismatch("\n    ".join(problems + [str(e)]))
    except Exception as e:  # a reader refused the file or our types: keep what we know so far
        first = "\n    ".join(str(e).splitlines()[:4])
        raise Mismatch("\n    ".join(problems + [f"{type(e).__name__}: {first}"]))
    for ours_t, ours_name in ((ours, "ours/pyarrow"), (ours_duck, "ours/duckdb")):
        for peer_t, peer_name, is_duck in ((ref_pa, "pyarrow.csv", False), (ref_duck, "duckdb.read_csv", True)):
            problems += compare_tables(ours_t, peer_t, ours_name, peer_name,
                                       duckdb_involved=is_duck or ours_name == "ours/duckdb",
                                       max_diffs=max_diffs)

    # stdin + small budget must give the same schema and values
    report2 = run_ours(binary, csv, out_small, stdin_small=True)
    small = pq.read_table(out_small)
    if small.schema != schema:
        problems.append(f"stdin/16MiB run inferred {small.schema} vs {schema}")
    else:
        problems += compare_tables(ours, small, "ours", "ours(stdin,16MiB)", False, max_diffs)
    rg = pq.ParquetFile(out_small).metadata.num_row_groups
    if report2.get("rows") != small.num_rows:
        problems.append(f"stdin run --json rows={report2.get('rows')} but the file has {small.num_rows}")
    con.close()
    if problems:
        raise Mismatch("\n    ".join(problems))
    return f"{ours.num_rows} rows x {ours.num_columns} cols, 4 comparisons + stdin run ({rg} row groups)", notes


def write_long_fields(path: Path) -> None:
    """Deterministic CSV with very long quoted fields (see the module doc)."""
    import random
    rnd = random.Random(20240601)
    pieces = ["lorem", "ipsum", "caf\u00e9", "\u6771\u4eac", "\U0001F600", "a,b", 'say ""hi""',
              "\n", "\r\n", "\n\n", "   ", "\u00a0", "x" * 50]
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("id,body,score,note,at\r\n")
        for i in range(40):
            size = rnd.choice([0, 10, 1_000, 40_000, 300_000, 700_000])
            parts, n = [], 0
            while n < size:
                p = rnd.choice(pieces)
                parts.append(p)
                n += len(p.encode())
            body = '"' + " ".join(parts) + '"' if size else rnd.choice(["", '""'])
            score = rnd.choice(["", f"{rnd.uniform(-1e6, 1e6):.17g}", str(rnd.randint(-10**6, 10**6))])
            note = rnd.choice(["", '""', "plain", '"quoted\nline"'])
            at = rnd.choice(["", f"2024-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(7 * i) % 60:02d}.{i:06d}"])
            # One record terminator for the whole file: DuckDB (strict_mode) rejects files that
            # mix LF and CRLF record ends, which we and pyarrow accept.
            f.write(f"{i},{body},{score},{note},{at}\r\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default=str(REPO / "target" / "release" / "csv2parquet"))
    ap.add_argument("--keep", help="write converted files here and keep them")
    ap.add_argument("--only", help="check only files whose name contains this")
    ap.add_argument("--max-diffs", type=int, default=10)
    args = ap.parse_args()
    binary = Path(args.binary)
    if not binary.is_absolute():
        binary = (REPO / binary) if not Path.cwd().joinpath(binary).exists() else Path.cwd() / binary
    if not binary.exists():
        print(f"no binary at {binary} (build with `cargo build --release`)")
        print("0 passed, 1 failed")
        return 1
    expected_types = json.loads((FIXTURES / "expected_types.json").read_text(encoding="utf-8"))

    tmp = tempfile.TemporaryDirectory(prefix="csv2parquet-compat-")
    work = Path(args.keep) if args.keep else Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    inputs = sorted(FIXTURES.glob("*.csv"))
    for name, shape in GENERATED:
        path = Path(tmp.name) / name
        p = subprocess.run([str(binary), "generate", "--shape", shape, "--size", "2MiB", "--seed", "1", str(path)],
                           capture_output=True)
        if p.returncode != 0:
            print(f"FAIL {name}: generate exited {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
        inputs.append(path)
    long_fields = Path(tmp.name) / "long_fields.csv"
    write_long_fields(long_fields)
    inputs.append(long_fields)
    if args.only:
        inputs = [p for p in inputs if args.only in p.name]

    passed = failed = 0
    for csv in inputs:
        t0 = time.monotonic()
        try:
            if not csv.exists():
                raise Mismatch("input missing")
            summary, notes = check_file(binary, csv, work, expected_types, args.max_diffs)
            passed += 1
            extra = "".join(f"\n    note: {n}" for n in notes)
            print(f"PASS {csv.name}: {summary} [{time.monotonic() - t0:.1f}s]{extra}", flush=True)
        except Exception as e:  # a crash in a reader is a failure of that file, not of the run
            failed += 1
            if isinstance(e, Mismatch):
                msg = str(e)
            else:  # a reader's exception: its first lines are enough (DuckDB's run long)
                msg = f"{type(e).__name__}: " + "\n    ".join(str(e).splitlines()[:4])
            print(f"FAIL {csv.name}:\n    {msg}", flush=True)
    tmp.cleanup()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
