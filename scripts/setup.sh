#!/usr/bin/env bash
# One-time set-up on a fresh machine: checks Java 25 and Maven, installs the OpenCL runtime,
# builds slimq (cli/target/slimq.jar, run by ./slimq). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java.sh
slimq_export_java_home
command -v mvn >/dev/null || { echo "setup: Maven not found; install Maven 3.8+ (apt-get install maven)" >&2; exit 1; }
bash scripts/install-opencl.sh
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
if [[ "${1:-}" != "--no-build" ]]; then
  echo "setup: building with $JAVA_HOME" >&2
  mvn -B -q -DskipTests install
fi
