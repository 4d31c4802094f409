#!/usr/bin/env python3
"""Differential test: our CSV decoder vs Python's csv module in strict mode (issue 6).

Usage:
    python3 tests/compat/differential.py [BINARY] [--seed S|random] [--count N] [--case I] [--keep DIR]

BINARY defaults to target/release/csv2parquet. Needs only the standard library and pyarrow.

Seeded random CSVs (quotes, delimiters, CR/LF/CRLF mixes, blank lines, BOMs, NULs, ragged rows,
unicode incl. U+2028/U+0085/VT/FF, random byte mutations: stray quotes, deleted or inserted
bytes, invalid UTF-8, truncation) are each parsed twice:

  * ours: `csv2parquet convert IN OUT --no-header --schema S` with every column a string
    (column_1..K; K is the field count of Python's first record, or, when Python fails, of ours:
    `csv2parquet schema` is asked first) and the same dialect; the Parquet is read with pyarrow;
  * Python: `csv.reader(io.StringIO(text, newline=''), strict=True, ...)`.

Where both succeed the records must be identical, field by field; where Python fails we must fail
too (exit 65, the error naming a line). Case i is generated from `random.Random(f"{seed}:{i}")`,
so `--seed S --case I` reruns one case. On a disagreement the input is shrunk (records, then
bytes) while the disagreement persists, and the seed, case and minimal input are printed.

Documented semantic differences, each handled explicitly below (D1..D8):
  D1 Nulls. An empty unquoted field is null for us, `""` is the empty string; Python gives '' for
     both. Nulls are compared as '', and for unmutated inputs (where the generator knows which
     fields it quoted) we also check that exactly the unquoted empty fields are null, i.e. that a
     quoted empty string never becomes null.
  D2 BOM. We strip one leading UTF-8 BOM (EF BB BF); Python's 'utf-8' codec keeps it as U+FEFF in
     the first field. Python is given the text decoded with 'utf-8-sig' (strips exactly one).
  D3 Blank lines. Python yields [] for an empty line; we skip blank lines, except in a
     one-column input, where a blank line is a record of one null (as DuckDB reads it). [] records
     are dropped from Python's output, or with one column read as [''] (a null, D1); a line
     holding only `""` is a record with one empty string for both.
  D4 Ragged rows. Python accepts records with differing field counts; under our default
     `--on-error fail` a record whose field count differs from the first record's is bad input:
     we must exit 65 with "expected K fields, found M" and the physical line where the first such
     record starts (Python's line_num counts lines like we do: CRLF once, CR and LF once each,
     line breaks inside quotes included).
  D5 Empty input. No record at all (empty, or only blank lines) is an error for us (exit 65);
     Python yields no records.
  D6 Invalid UTF-8. Python cannot decode the text (counted as a Python failure); in a string
     column it is bad input for us (exit 65, with line and byte).
  D11 Trailing delimiters. A record one field longer than the first whose last field is empty
     and unquoted is read without that field (`1,2,` under `a,b`, an export's trailing
     delimiter); a quoted `""` there is a ragged row. Python keeps the field, and its rows do not
     say whether it was quoted: such records are compared without it, and our refusing one of
     them as one field too long is taken as a quoted `""` (both fail).
  D12 Spaces around quotes. Spaces before an opening quote and after a closing quote are layout
     for us (`1, "x, y"` is two fields, as DuckDB reads it); for Python they are data and the
     quote after them literal. Inputs where a field starts with spaces and a quote, or a quote is
     followed by spaces and then a delimiter, a line break or the end, are not judged (counted as
     skipped); the Rust unit tests cover that rule.
  D7 Escapes. Python's escapechar also escapes outside quotes, ours only inside quoted fields: the
     escape option is not exercised here (the Rust unit tests cover it).
  D8 Headers. Every case runs with --no-header (header naming and de-duplication are ours and
     tested in Rust); the tokenizer and the header path share the grammar.
  D9 Magic numbers. We detect compression and refuse well-known binary formats by their first
     bytes (README, "Bad input"). Text that merely starts like a printable magic number (`ORC`,
     `PAR1`, `GIF8`, `BZh9`) must still read as CSV, and the generator produces such starts.
     A printable magic followed, within the first 64 bytes, by a C0 control byte other than
     tab/LF/CR (NUL, VT, FF...) or by invalid UTF-8 is taken for the binary file it looks like:
     we must then exit 65 with "this looks like" (`binary_magic` below mirrors the rule of
     src/decode/compression.rs). `%PDF-` alone is refused as a PDF, so it is never generated.
  D10 A NUL byte in the first line (before the first CR or LF, after a BOM) makes us refuse the
     input as "binary data" (binary files, UTF-16 without a BOM); Python reads it. We must exit
     65 with "binary data". NUL bytes in later lines are ordinary characters for both.

Both parsers agree on the rest (checked here): LF, CRLF and CR endings, mixed; line breaks,
delimiters and doubled quotes inside quotes; a quote inside an unquoted field (`a"b`) is literal;
text after a closing quote (`"a"b`; spaces there are D12) is an error; an unterminated quote at end of input is
an error; NUL bytes after the first line are ordinary characters; U+2028, U+0085, VT and FF are not line breaks.

The last line is `differential: N cases, A agreed, B both failed, S skipped (D12), D disagreements`; the exit
status is 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]

DELIMITERS = [",", ",", ",", ";", "\t", "|"]
QUOTES = ['"', '"', '"', '"', "'", None]
LINE_MODES = ["lf", "lf", "crlf", "cr", "mixed"]
PLAIN = "abcxyzABC019 -_.:/"
UNICODE = ["é", "ß", "中", "😀", "\u2028", "\x85", "\x0b", "\x0c", "\ufeff", "\x00", "\x7f"]
# Starts that look like magic numbers (compression, binary formats) but are ordinary text (D9).
TRICKY_STARTS = ["PAR1", "ORC", "GIF8", "BZh9", "BZh91AY&S", "PK", "\ufeff"]


@dataclass
class Case:
    """One generated input."""

    data: bytes
    delimiter: str
    quote: str | None
    # For unmutated inputs: per record, per field, whether the field must read as null (D1).
    nulls: list[list[bool]] | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def gen_field(rng: random.Random, delim: str, quote: str | None) -> str:
    kind = rng.random()
    if kind < 0.12:
        return ""
    if kind < 0.5:
        return "".join(rng.choice(PLAIN) for _ in range(rng.randint(1, 6)))
    pool = list(PLAIN) + UNICODE + [" ", ",", ";", "\t", "|", "'", '"']
    if quote is not None:
        pool += [delim, quote, quote, "\n", "\r", "\r\n", "\n\n"]
    s = "".join(rng.choice(pool) for _ in range(rng.randint(1, 8)))
    if quote is None:
        s = s.replace(delim, "").replace("\r", "").replace("\n", "")
    return s


def render_field(rng: random.Random, s: str, delim: str, quote: str | None, ncols: int) -> tuple[str, bool]:
    """The field's text and whether it reads as null (D1)."""
    if quote is None:
        if s == "" and ncols == 1:
            s = "x"  # an empty field alone on its line is a blank line (D3), and cannot be quoted
        return s, s == ""
    must = any(c in s for c in (delim, quote, "\n", "\r")) or s.startswith(quote)
    # A one-column record that is an empty unquoted field is a blank line (D3): quote it.
    if must or rng.random() < 0.3 or (s == "" and ncols == 1):
        return quote + s.replace(quote, quote + quote) + quote, False
    return s, s == ""


def gen_regular(rng: random.Random) -> Case:
    delim = rng.choice(DELIMITERS)
    quote = rng.choice(QUOTES)
    ncols = rng.randint(1, 6)
    nrecs = rng.randint(1, 12)
    mode = rng.choice(LINE_MODES)
    text_parts: list[str] = []
    nulls: list[list[bool]] = []
    ragged = rng.random() < 0.1
    for r in range(nrecs):
        k = ncols
        if ragged and r > 0 and rng.random() < 0.3:
            k = max(1, ncols + rng.choice([-1, 1, 2]))
        fields = [render_field(rng, gen_field(rng, delim, quote), delim, quote, k) for _ in range(k)]
        rec = delim.join(f for f, _ in fields)
        if k > 1 and all(f == "" for f, _ in fields):
            pass  # a line of delimiters only is a record of empty fields, not a blank line
        nulls.append([n for _, n in fields])
        text_parts.append(rec)
        last = r == nrecs - 1
        eol = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}.get(mode) or rng.choice(["\n", "\r\n", "\r"])
        if not last or rng.random() < 0.7:
            text_parts.append(eol)
            if rng.random() < 0.1:  # blank lines (D3)
                text_parts.append(rng.choice(["\n", "\r\n", "\r", "\n\n"]))
    text = "".join(text_parts)
    if rng.random() < 0.05:
        text = rng.choice(["\n", "\r\n", "\r"]) + text  # leading blank line
    if text.startswith("\ufeff"):
        nulls = None  # the first field starts with U+FEFF: read as a BOM and stripped (D2)
    if rng.random() < 0.06:
        text = rng.choice(TRICKY_STARTS) + text
        nulls = None  # the first field changed
    if rng.random() < 0.1:
        text = "\ufeff" + text  # BOM (D2)
    return Case(text.encode("utf-8"), delim, quote, nulls)


def mutate(rng: random.Random, case: Case) -> Case:
    """Byte-level damage: the generator no longer knows which fields are null."""
    data = bytearray(case.data)
    q = (case.quote or '"').encode()
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        pos = rng.randint(0, len(data))
        if op < 0.35:
            data[pos:pos] = q
        elif op < 0.5 and data:
            del data[min(pos, len(data) - 1)]
        elif op < 0.8:
            data[pos:pos] = rng.choice([b"\r", b"\n", b"\r\n", case.delimiter.encode(), b"\x00", b" ", q + b"x", b"x" + q])
        elif op < 0.9:
            data[pos:pos] = rng.choice([b"\xff", b"\xc3", b"\xe4\xb8", b"\xed\xa0\x80", b"\xc0\xaf"])
        else:
            del data[pos:]
    return Case(bytes(data), case.delimiter, case.quote, None, ["mutated"])


def gen_case(seed: int, i: int) -> Case:
    rng = random.Random(f"{seed}:{i}")
    case = gen_regular(rng)
    if rng.random() < 0.3:
        case = mutate(rng, case)
    return case


# --------------------------------------------------------------------------------------------
# The two parsers
# --------------------------------------------------------------------------------------------


@dataclass
class PyResult:
    ok: bool
    rows: list[list[str]] = field(default_factory=list)
    # Physical 1-based line where each kept record starts.
    lines: list[int] = field(default_factory=list)
    error: str = ""
    # Every record including the blank lines ([]), for one-column inputs (D3).
    all_rows: list[list[str]] = field(default_factory=list)


def parse_python(case: Case) -> PyResult:
    try:
        text = case.data.decode("utf-8-sig")  # D2, D6
    except UnicodeDecodeError as e:
        return PyResult(False, error=f"UnicodeDecodeError: {e}")
    kw = {"delimiter": case.delimiter, "strict": True, "doublequote": True}
    if case.quote is None:
        kw["quoting"] = csv.QUOTE_NONE
    else:
        kw["quotechar"] = case.quote
    reader = csv.reader(io.StringIO(text, newline=""), **kw)
    rows, lines, all_rows = [], [], []
    prev = 0
    try:
        for row in reader:
            all_rows.append(row)
            if row:  # D3: [] is a blank line
                rows.append(row)
                lines.append(prev + 1)
            prev = reader.line_num
    except csv.Error as e:
        return PyResult(False, error=f"csv.Error: {e} (line {reader.line_num})")
    return PyResult(True, rows, lines, all_rows=all_rows)


@dataclass
class OurResult:
    code: int
    stderr: str
    rows: list[list[str | None]] | None = None


def dialect_args(case: Case) -> list[str]:
    # Every part of the dialect pinned: nothing is sniffed.
    return ["--delimiter", case.delimiter, "--quote", case.quote if case.quote else "none",
            "--escape", "none", "--comment", "none", "--skip-rows", "0"]


def run_ours(binary: str, case: Case, ncols: int | None, tmp: Path, extra: list[str]) -> OurResult:
    inp, out, schema = tmp / "in.csv", tmp / "out.parquet", tmp / "schema.json"
    inp.write_bytes(case.data)
    common = ["--no-header", *dialect_args(case), "--workers", "1", *extra]
    if ncols is None:
        p = subprocess.run([binary, "schema", str(inp), *common], capture_output=True, timeout=60)
        if p.returncode != 0:
            return OurResult(p.returncode, p.stderr.decode("utf-8", "replace"))
        ncols = len(json.loads(p.stdout))
    cols = [{"name": f"column_{i + 1}", "type": "string"} for i in range(ncols)]
    schema.write_text(json.dumps(cols))
    if out.exists():
        out.unlink()
    p = subprocess.run([binary, "convert", str(inp), str(out), "--schema", str(schema), "--quiet", *common],
                       capture_output=True, timeout=60)
    res = OurResult(p.returncode, p.stderr.decode("utf-8", "replace"))
    if p.returncode == 0:
        table = pq.read_table(out)
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        res.rows = [list(r) for r in zip(*columns)] if columns else []
    return res


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------

LINE_RE = re.compile(r"\bline (\d+)\b")
PRINTABLE_MAGICS = (b"PAR1", b"GIF8", b"ORC")


def binary_magic(data: bytes) -> bool:
    """D9: whether we refuse the input as a binary file (printable magic + binary-looking bytes)."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not body.startswith(PRINTABLE_MAGICS):
        return False
    head = body[:64]
    if any(b < 0x20 and b not in b"\t\n\r" for b in head):
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.reason != "unexpected end of data"
    return False


def nul_in_first_line(data: bytes) -> bool:
    """D10: whether we refuse the input as binary data (a NUL before the first line break)."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    first = re.split(rb"[\r\n]", body, maxsplit=1)[0]
    return b"\x00" in first


def judge(binary: str, case: Case, tmp: Path, extra: list[str]) -> tuple[str, str]:
    """('agreed' | 'both_failed' | 'skipped' | 'disagree', detail)."""
    if nul_in_first_line(case.data) and not binary_magic(case.data):  # D10
        ours = run_ours(binary, case, 1, tmp, extra)
        if ours.code != 65 or "binary data" not in ours.stderr:
            return "disagree", f"NUL in the first line: expected exit 65, got {ours.code}: {ours.stderr.strip()}"
        return "both_failed", ""
    if binary_magic(case.data):  # D9
        ours = run_ours(binary, case, 1, tmp, extra)
        if ours.code != 65 or "this looks like" not in ours.stderr:
            return "disagree", f"binary-looking magic: expected exit 65, got {ours.code}: {ours.stderr.strip()}"
        return "both_failed", ""
    if case.quote is not None:  # D12
        d, q = re.escape(case.delimiter.encode()), re.escape(case.quote.encode())
        if re.search(rb"(^|" + d + rb"|[\r\n]) +" + q, case.data) or re.search(
            q + rb" +(" + d + rb"|[\r\n]|$)", case.data
        ):
            return "skipped", ""
    py = parse_python(case)
    if not py.ok:
        ours = run_ours(binary, case, None, tmp, extra)
        if ours.code != 65:
            return "disagree", f"Python fails ({py.error}) but we exit {ours.code}: {ours.stderr.strip()}"
        if not LINE_RE.search(ours.stderr) and "empty" not in ours.stderr:
            return "disagree", f"Python fails ({py.error}); our error names no line: {ours.stderr.strip()}"
        return "both_failed", ""
    if not py.rows:  # D5
        ours = run_ours(binary, case, 1, tmp, extra)
        if ours.code != 65 or "empty" not in ours.stderr:
            return "disagree", f"no records: expected exit 65 'empty', got {ours.code}: {ours.stderr.strip()}"
        return "both_failed", ""
    ncols = len(py.rows[0])
    ours = run_ours(binary, case, ncols, tmp, extra)
    blank = [not r for r in py.all_rows]
    if ncols == 1 and all(len(r) <= 1 for r in py.all_rows):  # D3: a blank line is a null
        py.rows = [r or [""] for r in py.all_rows]
    else:
        blank = []
    trailing = [i for i, r in enumerate(py.rows) if len(r) == ncols + 1 and r[-1] == ""]
    if trailing:  # D11
        longer = f"expected {ncols} fields, found {ncols + 1}"
        if ours.code == 65 and longer in ours.stderr and any(
            re.search(rf"\bline {py.lines[i]}\b", ours.stderr) for i in trailing
        ):
            return "both_failed", ""  # that last field was a quoted ""
        py.rows = [r[:-1] if len(r) == ncols + 1 and r[-1] == "" else r for r in py.rows]
        if case.nulls is not None:
            case.nulls = [n[:ncols] for n in case.nulls]
    ragged = next((i for i, r in enumerate(py.rows) if len(r) != ncols), None)
    if ragged is not None:  # D4
        want = f"line {py.lines[ragged]}"
        found = f"expected {ncols} fields, found {len(py.rows[ragged])}"
        if ours.code != 65 or not re.search(rf"\b{want}\b", ours.stderr) or found not in ours.stderr:
            return "disagree", (f"ragged record {ragged + 1} at {want} ({found}): "
                                f"we exit {ours.code}: {ours.stderr.strip()}")
        return "both_failed", ""
    if ours.code != 0:
        return "disagree", f"Python reads {len(py.rows)} records; we exit {ours.code}: {ours.stderr.strip()}"
    assert ours.rows is not None
    got = [["" if v is None else v for v in r] for r in ours.rows]  # D1
    if got != py.rows:
        return "disagree", first_difference(py.rows, got)
    if case.nulls is not None:  # D1: exactly the unquoted empty fields are null
        given = iter(case.nulls)
        want_nulls = [[True] if b else next(given, []) for b in blank] if blank else list(case.nulls)
        got_nulls = [[v is None for v in r] for r in ours.rows]
        if got_nulls != want_nulls:
            return "disagree", f"null pattern differs: expected {want_nulls}, got {got_nulls}"
    return "agreed", ""


def first_difference(want: list[list[str]], got: list[list[str]]) -> str:
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return f"record {i + 1}: Python {a!r}, ours {b!r}"
    return f"Python has {len(want)} records, ours {len(got)}"


def extra_args(seed: int, i: int) -> list[str]:
    """Some cases run with tiny chunks so that records straddle chunk boundaries."""
    rng = random.Random(f"{seed}:{i}:opts")
    if rng.random() < 0.3:
        return ["--memory-limit", "16MiB", "--chunk-bytes", str(rng.choice([1, 2, 3, 7, 16]))]
    return []


def shrink(binary: str, case: Case, tmp: Path, extra: list[str], budget: int = 300) -> Case:
    """Greedy shrink (lines, then single bytes) while the case still disagrees."""
    def still_bad(data: bytes) -> bool:
        nonlocal budget
        if budget <= 0:
            return False
        budget -= 1
        c = Case(data, case.delimiter, case.quote, None)
        return judge(binary, c, tmp, extra)[0] == "disagree"

    data = case.data
    for unit in ("lines", "bytes"):
        changed = True
        while changed and budget > 0:
            changed = False
            pieces = data.splitlines(keepends=True) if unit == "lines" else [bytes([b]) for b in data]
            i = 0
            while i < len(pieces) and budget > 0:
                candidate = b"".join(pieces[:i] + pieces[i + 1:])
                if candidate != data and still_bad(candidate):
                    data = candidate
                    pieces = pieces[:i] + pieces[i + 1:]
                    changed = True
                else:
                    i += 1
    return Case(data, case.delimiter, case.quote, None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", nargs="?", default=str(REPO / "target" / "release" / "csv2parquet"))
    ap.add_argument("--seed", default="6", help="an integer (default 6, fixed so runs are "
                    "repeatable), or 'random' (a new one, printed)")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--case", type=int, default=None, help="run only case I of the seed")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="write disagreeing inputs here")
    args = ap.parse_args()
    seed = random.SystemRandom().randrange(1 << 32) if args.seed == "random" else int(args.seed)
    binary = str(Path(args.binary).resolve())
    indices = [args.case] if args.case is not None else list(range(args.count))
    print(f"differential: seed {seed} ({len(indices)} cases; rerun with --seed {seed})", flush=True)
    started = time.monotonic()
    counts = {"agreed": 0, "both_failed": 0, "skipped": 0, "disagree": 0}
    failures = []

    def one(i: int):
        case = gen_case(seed, i)
        extra = extra_args(seed, i)
        with tempfile.TemporaryDirectory(prefix="csv2pq-diff-") as d:
            verdict, detail = judge(binary, case, Path(d), extra)
            if verdict == "disagree":
                small = shrink(binary, case, Path(d), extra)
                return i, verdict, detail, case, small, extra
        return i, verdict, detail, case, None, extra

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for i, verdict, detail, case, small, extra in pool.map(one, indices):
            counts[verdict] += 1
            if verdict == "disagree":
                failures.append(i)
                print(f"DISAGREE seed {seed} case {i} (dialect {dialect_args(case)} {' '.join(extra)}): {detail}")
                print(f"  input:   {case.data!r}")
                if small is not None:
                    with tempfile.TemporaryDirectory(prefix="csv2pq-diff-") as d:
                        _, small_detail = judge(binary, small, Path(d), extra)
                    print(f"  minimal: {small.data!r}\n  -> {small_detail}")
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    (args.keep / f"seed{seed}-case{i}.csv").write_bytes((small or case).data)
    took = time.monotonic() - started
    n = len(indices)
    print(f"differential: {n} cases, {counts['agreed']} agreed, {counts['both_failed']} both failed, "
          f"{counts['skipped']} skipped (D12), {counts['disagree']} disagreements ({took:.1f} s, seed {seed})")
    return 1 if counts["disagree"] else 0


if __name__ == "__main__":
    sys.exit(main())
