#!/usr/bin/env bash
# Lint the SAM/CloudFormation template with cfn-lint (errors, warnings and informational
# findings). Creates .venv-cfn/ in the repository on first use with the pinned cfn-lint; exits
# non-zero if cfn-lint reports anything (its exit code is a bit mask: 2 error, 4 warning,
# 8 informational).
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
VENV=.venv-cfn

if [[ ! -x "$VENV/bin/cfn-lint" ]] || [[ "$("$VENV/bin/cfn-lint" --version 2>/dev/null)" != "cfn-lint $CFN_LINT_VERSION" ]]; then
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV" || {
            echo "cfn-lint.sh: cannot create $VENV (on Debian/Ubuntu: apt-get install python3-venv)" >&2
            exit 1
        }
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi

"$VENV/bin/cfn-lint" --version
if "$VENV/bin/cfn-lint" --include-checks I -- template.yaml; then
    echo "cfn-lint: template.yaml: no findings"
else
    status=$?
    echo "cfn-lint: template.yaml: findings above (exit code $status)" >&2
    exit "$status"
fi
