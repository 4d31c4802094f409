#!/usr/bin/env bash
# The fan-out's acceptance run (issue 21): large generated CSVs converted s3 -> s3 with
# `--fan-out N` against the embedded S3-compatible server, compared with the single-process
# conversion of the same file: the same rows and values in pyarrow (Table.equals) and in DuckDB
# (EXCEPT ALL both ways, row counts), and nothing left beside the output (no fragment, no
# open multipart upload). Not part of CI (gigabytes, minutes).
#
#   scripts/fanout-check.sh [SHAPE:SIZE ...]     default: taxi:2GiB text:1GiB
#
# Environment: FAN_OUT (default 8), MIN_RANGE (--fan-out-min-range, default 64MiB, so that a
# 1 GiB input gets all 8 ranges), CSV2PARQUET (default target/release/csv2parquet),
# PYTHON (default .venv/bin/python, with pyarrow, duckdb and boto3: tests/compat/requirements.txt),
# PORT (default 9917). Work files go to a temporary directory, removed at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${CSV2PARQUET:-$ROOT/target/release/csv2parquet}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
FAN_OUT="${FAN_OUT:-8}"
MIN_RANGE="${MIN_RANGE:-64MiB}"
PORT="${PORT:-9917}"
[ "$#" -gt 0 ] || set -- taxi:2GiB text:1GiB
[ -x "$BIN" ] || { echo "fanout-check: no binary at $BIN (cargo build --release)" >&2; exit 2; }
"$PY" -c "import pyarrow, duckdb, boto3" || { echo "fanout-check: $PY lacks pyarrow/duckdb/boto3" >&2; exit 2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/csv2parquet-fanout.XXXXXX")"
SERVER=""
cleanup() {
    [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# The embedded server's fixed keys (see `csv2parquet s3-server`'s banner).
export AWS_ACCESS_KEY_ID=csv2parquet AWS_SECRET_ACCESS_KEY=csv2parquet-local-secret AWS_REGION=us-east-1
ENDPOINT="http://127.0.0.1:$PORT"
"$BIN" s3-server --dir "$TMP/s3" --listen "127.0.0.1:$PORT" --bucket data 2>"$TMP/server.log" &
SERVER=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

status=0
for spec in "$@"; do
    shape="${spec%%:*}"
    size="${spec#*:}"
    csv="$TMP/$shape.csv"
    echo "== $shape $size, --fan-out $FAN_OUT"
    "$BIN" generate --shape "$shape" --size "$size" "$csv"
    "$BIN" upload "$csv" "s3://data/in/$shape.csv" --endpoint-url "$ENDPOINT" >/dev/null
    /usr/bin/time -f "single: %e s, peak RSS %M KiB" \
        "$BIN" convert "$csv" "$TMP/$shape-single.parquet" --quiet --json >"$TMP/single.json"
    /usr/bin/time -f "fan-out: %e s, peak RSS %M KiB" \
        "$BIN" convert "s3://data/in/$shape.csv" "s3://data/out/$shape.parquet" \
        --fan-out "$FAN_OUT" --fan-out-min-range "$MIN_RANGE" --endpoint-url "$ENDPOINT" --quiet --json >"$TMP/fanout.json"
    rm -f "$csv"
    # What the store lists (the server's files are not objects: it keeps a deleted object's
    # metadata file and empty directories).
    "$PY" - "$ENDPOINT" "out/$shape.parquet" <<'PY' || status=1
import sys
import boto3

endpoint, key = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint)
left = [o["Key"] for o in s3.list_objects_v2(Bucket="data", Prefix=key + ".fragments/").get("Contents", [])]
uploads = [u["Key"] for u in s3.list_multipart_uploads(Bucket="data").get("Uploads", [])]
print(f"left beside the output: {len(left)} objects {left[:3]}, {len(uploads)} open multipart uploads {uploads[:3]}")
sys.exit(1 if left or uploads else 0)
PY
    "$PY" - "$TMP/$shape-single.parquet" "$TMP/s3/data/out/$shape.parquet" <<'PY' || status=1
import sys
import duckdb
import pyarrow.parquet as pq

single, fanned = sys.argv[1], sys.argv[2]
a, b = pq.read_table(single), pq.read_table(fanned)
meta = pq.ParquetFile(fanned).metadata
print(f"pyarrow: single {a.num_rows} rows, fan-out {b.num_rows} rows in {meta.num_row_groups} row groups;"
      f" schemas equal {a.schema.equals(b.schema)}, tables equal {a.equals(b)}")
ok = a.schema.equals(b.schema) and a.equals(b)
del a, b
con = duckdb.connect()
n = con.execute(f"SELECT count(*) FROM read_parquet('{fanned}')").fetchone()[0]
diff = con.execute(
    f"SELECT (SELECT count(*) FROM (SELECT * FROM read_parquet('{single}') EXCEPT ALL "
    f"SELECT * FROM read_parquet('{fanned}'))), (SELECT count(*) FROM (SELECT * FROM "
    f"read_parquet('{fanned}') EXCEPT ALL SELECT * FROM read_parquet('{single}')))"
).fetchone()
print(f"duckdb: {n} rows; rows only in the single output {diff[0]}, only in the fan-out {diff[1]}")
ok = ok and diff == (0, 0)
print("OK" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
    rm -f "$TMP/$shape-single.parquet" "$TMP/s3/data/out/$shape.parquet" "$TMP/s3/data/in/$shape.csv"
done
exit "$status"
