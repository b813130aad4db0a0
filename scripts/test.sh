#!/usr/bin/env bash
# Set up (Java 25 check, OpenCL runtime) and run every test of every module.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-build
source scripts/java.sh
slimq_export_java_home
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
mvn -B verify "$@"
