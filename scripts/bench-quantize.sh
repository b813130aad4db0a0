#!/usr/bin/env bash
# JMH: the quantizers on one thread, 4096x4096 bf16-sourced heavy-tailed weights in memory, 4-bit g128
# asymmetric F16 scales, quantization only (no packing, no file I/O); results in ns per weight.
# Targets (issue 3): rtn <= 1.0 ns, search and easyquant <= 10 ns.
# Usage: scripts/bench-quantize.sh [JMH options], e.g. -p method=rtn,easyquant -p zeros=FLOAT,INTEGER
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java.sh
slimq_export_java_home
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
mvn -B -q -DskipTests -pl core,quantize,benchmarks package
# The benchmarks module depends on core only: the quantize jar joins the class path here (JMH's fork inherits it).
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "benchmarks/target/slimq-benchmarks-0.1.0-SNAPSHOT.jar:benchmarks/target/lib/*:quantize/target/slimq-quantize-0.1.0-SNAPSHOT.jar" \
  org.openjdk.jmh.Main QuantizeBenchmark "$@"
