#!/usr/bin/env bash
# Builds the self-contained GPU check bundle: a jlink'd Java 25 runtime (only the modules slimq
# needs, jdk.incubator.vector included), the slimq CLI jar with its dependency jars, an OpenCL ICD
# loader (libOpenCL.so.1 from this machine, used only where the target has none) with an NVIDIA .icd
# file, and run.sh. The target needs no Java and no network. Fails if the bundle exceeds 60 MiB.
# Usage: scripts/device/build-bundle.sh [OUT_DIR]   (default: target/gpu-bundle)
#   SLIMQ_SKIP_BUILD=1  reuse cli/target/slimq.jar and cli/target/lib as they are
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
out="${1:-$root/target/gpu-bundle}"
limit=$((60 * 1024 * 1024))

source scripts/java.sh
slimq_export_java_home
jlink="$JAVA_HOME/bin/jlink"
[[ -x "$jlink" ]] || { echo "build-bundle: $jlink not found; JAVA_HOME must be a full JDK 25 (e.g. /usr/lib/jvm/temurin-25-jdk-amd64)" >&2; exit 1; }

if [[ "${SLIMQ_SKIP_BUILD:-0}" != 1 ]]; then
  echo "build-bundle: building the CLI (mvn install -pl cli -am)" >&2
  export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
  mvn -B -q -DskipTests install -pl cli -am ${MVN_ARGS:-}
fi
[[ -f cli/target/slimq.jar && -d cli/target/lib ]] || { echo "build-bundle: cli/target/slimq.jar or cli/target/lib missing" >&2; exit 1; }

# The ICD loader to ship: ocl-icd's libOpenCL.so.1 (depends on libc only).
loader=""
for c in /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 /usr/lib64/libOpenCL.so.1 /usr/lib/libOpenCL.so.1; do
  if [[ -e "$c" ]]; then loader="$(readlink -f "$c")"; break; fi
done
[[ -n "$loader" ]] || { echo "build-bundle: no libOpenCL.so.1 on this machine; run scripts/install-opencl.sh" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/lib" "$out/opencl/lib" "$out/opencl/vendors"

# Runtime: java.logging for JOCL, java.sql and java.desktop are not needed (Jackson uses them only
# when present), jdk.incubator.vector for the CPU kernels, jdk.crypto.ec not needed (no TLS).
modules="java.base,java.logging,jdk.incubator.vector"
"$jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=zip-9 \
  --output "$out/runtime"

cp cli/target/slimq.jar "$out/lib/"
cp cli/target/lib/*.jar "$out/lib/"
cp "$loader" "$out/opencl/lib/libOpenCL.so.1"
ln -s libOpenCL.so.1 "$out/opencl/lib/libOpenCL.so"
# NVIDIA's driver ships its OpenCL implementation as libnvidia-opencl.so.1; containers often mount
# the library but not /etc/OpenCL/vendors/nvidia.icd. run.sh points the loader here in that case.
echo "libnvidia-opencl.so.1" > "$out/opencl/vendors/nvidia.icd"
cp scripts/device/run.sh "$out/run.sh"
chmod +x "$out/run.sh"
{
  echo "slimq GPU check bundle"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m) from $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "runtime: $("$out/runtime/bin/java" -version 2>&1 | head -n1); modules $modules"
  echo "jars: $(cd "$out/lib" && ls | tr '\n' ' ')"
  echo "ICD loader: $loader"
} > "$out/BUNDLE.txt"

size=$(du -sb "$out" | cut -f1)
printf 'build-bundle: %s, %.1f MiB\n' "$out" "$(awk -v s="$size" 'BEGIN { print s / 1048576 }')" >&2
if (( size > limit )); then
  echo "build-bundle: the bundle is $size bytes, over the 60 MiB limit" >&2
  exit 1
fi
