#!/usr/bin/env bash
# Build the Lambda function the way it is deployed: `cargo lambda build --release` (x86_64; the
# arm64 build needs the aarch64 standard library from rustup, which a fresh CI machine may not be
# able to fetch), with only the `lambda` feature, so the function carries none of the CLI's
# dependencies. Installs cargo-lambda (which brings zig) from PyPI into .venv-lambda/ on first use,
# then checks the bootstrap binary is there and is a static-PIE/dynamic x86-64 ELF.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LAMBDA_VERSION=1.9.2
VENV=.venv-lambda

if [[ "$("$VENV/bin/cargo-lambda" lambda --version 2>/dev/null || true)" != *"$CARGO_LAMBDA_VERSION"* ]]; then
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
export PATH="$PWD/$VENV/bin:$PATH"
# The release profile keeps the symbol table (function names in backtraces); the function does
# not need it either.
export CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols
cargo lambda build --release --locked --no-default-features --features lambda --bin csv2parquet-lambda
bootstrap=target/lambda/csv2parquet-lambda/bootstrap
file "$bootstrap" 2>/dev/null || true
head -c 4 "$bootstrap" | od -An -c | grep -q 'E   L   F' || {
    echo "lambda-build.sh: $bootstrap is not an ELF binary" >&2
    exit 1
}
# No CLI-only crate may be linked into the function (their names survive in panic locations
# even in a stripped binary).
if strings "$bootstrap" | grep -qE 'clap_builder|indicatif|s3s_fs|s3s-fs'; then
    echo "lambda-build.sh: the function binary contains CLI-only code" >&2
    exit 1
fi
echo "lambda-build.sh: $bootstrap ($(du -h "$bootstrap" | cut -f1))"
