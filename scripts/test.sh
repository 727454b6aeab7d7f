#!/usr/bin/env bash
# Runs jcriu's whole test suite: unit tests, then end-to-end tests that dump and restore real
# processes. Needs root (ptrace, clone3 with set_tid). Installs what the tests need when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
jcriu_require_root
jcriu_install_deps
mvn -B -ntp verify "$@"
# the Java RPC client library: a project of its own, tested against the bin/jcriu just built
(cd client && mvn -B -ntp verify)
