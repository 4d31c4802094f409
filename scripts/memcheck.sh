#!/usr/bin/env bash
# Peak-memory check: streams generated CSV through stdin into the converter and fails if the
# converter's peak RSS exceeds a limit.
#
#   scripts/memcheck.sh [SIZE...]            default sizes: 100MiB 1GiB 4GiB
#
# For each SIZE:
#   csv2parquet generate --shape $SHAPE --size SIZE - \
#     | /usr/bin/time -v csv2parquet convert - OUT.parquet --json
# Peak RSS is GNU time's "Maximum resident set size" of the converter process only (the
# generator is not measured). MiB/s, rows and row groups come from the converter's --json report
# (row groups show whether the row-group target, 1Mi rows or 128 MiB encoded, was reached).
#
# Environment:
#   SHAPE=taxi|text|wide|wide3000|wide:N|digits:N
#                            generated data shape (default taxi; wide = 1,000 columns,
#                            wide3000 = 3,000, wide:N = N columns; digits:N = N columns of
#                            one-digit integers, the shortest fields)
#   MAX_RSS_MIB=256          fail (exit 1) if any run's peak RSS exceeds this many MiB
#   CSV2PARQUET=PATH         binary (default: target/release/csv2parquet under the repo root)
#   CONVERT_ARGS="..."       extra arguments for `convert` (e.g. "--memory-limit 128MiB")
#
# Exit status: 0 all within the limit, 1 over the limit or a run failed, 2 missing tool/binary.
# Outputs go to a temporary directory (mktemp -d) that is removed at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${CSV2PARQUET:-$ROOT/target/release/csv2parquet}"
SHAPE="${SHAPE:-taxi}"
MAX_RSS_MIB="${MAX_RSS_MIB:-256}"
CONVERT_ARGS="${CONVERT_ARGS:-}"
TIME=/usr/bin/time

if [ ! -x "$TIME" ] || ! "$TIME" -v true >/dev/null 2>&1; then
    echo "memcheck: GNU time not found at $TIME (needed for -v peak RSS); install it (apt-get install time)" >&2
    exit 2
fi
if [ ! -x "$BIN" ]; then
    echo "memcheck: no converter binary at $BIN (cargo build --release, or set CSV2PARQUET)" >&2
    exit 2
fi
case "$SHAPE" in
    taxi|text|wide|wide3000) ;;
    wide:*[!0-9]*|wide:) echo "memcheck: SHAPE wide:N needs a whole number of columns, not '$SHAPE'" >&2; exit 2 ;;
    wide:*) ;;
    digits:*[!0-9]*|digits:) echo "memcheck: SHAPE digits:N needs a whole number of columns, not '$SHAPE'" >&2; exit 2 ;;
    digits:*) ;;
    *) echo "memcheck: SHAPE must be taxi, text, wide, wide3000, wide:N or digits:N, not '$SHAPE'" >&2; exit 2 ;;
esac
case "$MAX_RSS_MIB" in
    ''|*[!0-9]*) echo "memcheck: MAX_RSS_MIB must be a whole number of MiB, not '$MAX_RSS_MIB'" >&2; exit 2 ;;
esac

if [ "$#" -eq 0 ]; then
    set -- 100MiB 1GiB 4GiB
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/csv2parquet-memcheck.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# Value of a top-level numeric field of the flat part of the JSON report.
json_num() {
    grep -o "\"$1\":[-0-9.eE+]*" "$2" | head -n 1 | cut -d: -f2
}

echo "memcheck: shape=$SHAPE limit=${MAX_RSS_MIB}MiB binary=$BIN ${CONVERT_ARGS:+args=$CONVERT_ARGS}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
printf '| %-8s | %-12s | %-10s | %-9s | %-8s | %-13s | %-10s | %-6s |\n' size rows "row groups" "MiB/s" "wall s" "peak RSS MiB" "out MiB" result
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ---------- -------------- ------------ ----------- ---------- --------------- ------------ --------

status=0
for size in "$@"; do
    out="$TMP/out.parquet"
    report="$TMP/report.json"
    timelog="$TMP/time.txt"
    errlog="$TMP/stderr.txt"
    rm -f "$out" "$report" "$timelog" "$errlog"
    # shellcheck disable=SC2086 # CONVERT_ARGS is a list of words on purpose
    if ! "$BIN" generate --shape "$SHAPE" --size "$size" --seed 1 - 2>"$TMP/gen.err" \
        | "$TIME" -v -o "$timelog" "$BIN" convert - "$out" --json --quiet $CONVERT_ARGS >"$report" 2>"$errlog"; then
        printf '| %-8s | %-12s | %-10s | %-9s | %-8s | %-13s | %-10s | %-6s |\n' "$size" - - - - - - FAILED
        echo "  generator: $(tr '\n' ' ' <"$TMP/gen.err")" >&2
        echo "  converter: $(tr '\n' ' ' <"$errlog")" >&2
        [ -f "$timelog" ] && grep -E "Exit status|Command terminated" "$timelog" >&2 || true
        status=1
        continue
    fi
    rss_kb="$(grep 'Maximum resident set size' "$timelog" | awk '{print $NF}')"
    rss_mib=$(( (rss_kb + 1023) / 1024 ))
    rows="$(json_num rows "$report")"
    groups="$(json_num row_groups "$report")"
    mibs="$(json_num mib_per_s "$report")"
    secs="$(json_num seconds "$report")"
    out_mib="$(awk -v b="$(stat -c %s "$out")" 'BEGIN { printf "%.1f", b / 1048576 }')"
    result=ok
    if [ "$rss_mib" -gt "$MAX_RSS_MIB" ]; then
        result=OVER
        status=1
    fi
    printf '| %-8s | %-12s | %-10s | %-9.1f | %-8.2f | %-13s | %-10s | %-6s |\n' \
        "$size" "$rows" "$groups" "$mibs" "$secs" "$rss_mib" "$out_mib" "$result"
    rm -f "$out"
done

echo
if [ "$status" -eq 0 ]; then
    echo "memcheck: all runs within ${MAX_RSS_MIB} MiB peak RSS"
else
    echo "memcheck: FAILED (a run exceeded ${MAX_RSS_MIB} MiB peak RSS or did not finish)"
fi
exit "$status"
