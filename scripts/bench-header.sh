#!/usr/bin/env bash
# JMH: open (validate headers + index of) a 1,000-tensor sharded checkpoint. Target: < 200 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java.sh
slimq_export_java_home
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
mvn -B -q -DskipTests -pl benchmarks -am package
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "benchmarks/target/slimq-benchmarks-0.1.0-SNAPSHOT.jar:benchmarks/target/lib/*" \
  org.openjdk.jmh.Main HeaderParseBenchmark "$@"
