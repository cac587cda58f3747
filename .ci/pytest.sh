#!/usr/bin/env bash
# Run the whole test suite against the real services (see .ci/services.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export THUVIEN_TEST_PG="${THUVIEN_TEST_PG:-postgresql+psycopg://thuvien_test:thuvien_test@127.0.0.1:5432/postgres}"
export KIVY_NO_ARGS=1 KIVY_NO_CONSOLELOG=1 KIVY_NO_FILELOG=1
export KIVY_HOME="${KIVY_HOME:-$PWD/.kivy-test}"
exec .venv/bin/pytest "$@"
