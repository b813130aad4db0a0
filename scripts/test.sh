#!/usr/bin/env bash
# Set up (Java 25 check, OpenCL runtime) and run every test of every module, then check that the
# GPU check bundle still builds within its 60 MiB limit (scripts/device/build-bundle.sh) and runs, and that
# llama.cpp itself (node-llama-cpp's prebuilt binary, from the npm registry) loads slimq's GGUF files,
# and that the packaged tarball runs without a system Java.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-build
source scripts/java.sh
slimq_export_java_home
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
mvn -B verify "$@"
if [[ $# -eq 0 ]]; then
  bundle="$(mktemp -d)"
  SLIMQ_SKIP_BUILD=1 bash scripts/device/build-bundle.sh "$bundle/gpu-bundle"
  # Smoke-run the bundle as the GPU machine would (here on PoCL, one small bench shape), so that a
  # missing runtime module or jar shows up in CI rather than on the scarce GPU machine.
  OUT="$bundle/out" DEVICE=opencl BENCH_SHAPES=384x1536 BENCH_BATCHES=1 BENCH_ITERATIONS=1 \
    bash "$bundle/gpu-bundle/run.sh" > "$bundle/run.txt" 2>&1 || { cat "$bundle/run.txt" >&2; exit 1; }
  echo "gpu bundle: run.sh OK on PoCL ($(grep -c 'all kernels agree' "$bundle/run.txt") validate runs agree)"
  rm -rf "$bundle"
  bash scripts/llamacpp/check.sh
  # The self-contained tarball (jlink image, man pages, completion, AOT cache) runs with no Java on PATH.
  bash scripts/package.sh --no-build
  bash scripts/test-package.sh
fi
