#!/usr/bin/env bash
# The GPU check, run inside the bundle made by scripts/device/build-bundle.sh, on a machine with a
# GPU driver and no Java or network: lists devices, validates a generated model's quantized layers
# on the device (kernel vs float64, output vs the float original), then benchmarks the fused dequant kernels
# against the f16/f32 float kernels with the device's read bandwidth measured in the same run.
# Prints a compact table; writes devices.json, bench.json and the full log to $OUT when set.
#   DEVICE=opencl:N    device to benchmark (default: auto = the first GPU)
#   BENCH_SHAPES       default 4096x4096,4096x11008,11008x4096,8192x8192,896x4864,384x1536 (OUTxIN)
#   BENCH_BATCHES      default 1,8,64
#   BENCH_ITERATIONS   default 5
#   SLIMQ_HEAP         JVM heap (default 8g: weights are generated on the host)
#   SLIMQ_MAIN         main class (default dev.slimq.cli.Main)
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
java="$here/runtime/bin/java"
main="${SLIMQ_MAIN:-dev.slimq.cli.Main}"
out="${OUT:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- OpenCL loader and ICD ------------------------------------------------------------------------
# JOCL opens "libOpenCL.so". Prefer the machine's own loader (matched to its driver), reached
# through a symlink because drivers install only libOpenCL.so.1; else the bundled ocl-icd loader.
find_lib() {
  local name="$1" p
  p="$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n { print $NF; exit }')"
  if [[ -n "$p" && -e "$p" ]]; then echo "$p"; return 0; fi
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    if [[ -e "$d/$name" ]]; then echo "$d/$name"; return 0; fi
  done
  return 1
}
mkdir -p "$work/ld"
if sys_loader="$(find_lib libOpenCL.so.1)"; then
  ln -s "$sys_loader" "$work/ld/libOpenCL.so"
  echo "run: OpenCL loader $sys_loader (system)" >&2
else
  ln -s "$here/opencl/lib/libOpenCL.so.1" "$work/ld/libOpenCL.so"
  echo "run: OpenCL loader bundled (ocl-icd); this machine has none" >&2
fi
export LD_LIBRARY_PATH="$work/ld:$here/opencl/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! compgen -G "/etc/OpenCL/vendors/*.icd" >/dev/null && [[ -z "${OCL_ICD_VENDORS:-}${OCL_ICD_FILENAMES:-}" ]]; then
  if nv="$(find_lib libnvidia-opencl.so.1)"; then
    # No ICD registered (common in containers): register NVIDIA's for this run only.
    export OCL_ICD_VENDORS="$here/opencl/vendors" OCL_ICD_FILENAMES="$nv"
    echo "run: no /etc/OpenCL/vendors/*.icd; using $nv" >&2
  else
    echo "run: no OpenCL ICD registered and no libnvidia-opencl.so.1 found; devices will say so" >&2
  fi
fi

jvm=("$java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx"${SLIMQ_HEAP:-8g}"
     -Djava.io.tmpdir="$work" -cp "$here/lib/*" "$main")

log() { if [[ -n "$out" ]]; then tee -a "$out/run.log"; else cat; fi; }
if [[ -n "$out" ]]; then mkdir -p "$out"; : > "$out/run.log"; fi

echo "== slimq devices" | log
"${jvm[@]}" devices 2>&1 | log
if [[ -n "$out" ]]; then "${jvm[@]}" devices --json > "$out/devices.json" 2>/dev/null || true; fi

# --- validate: a generated model, quantized two ways, every layer through the device's kernels ----
echo "== slimq validate (generated llama small: slimq with outliers, compressed-tensors; f32 and f16 activations)" | log
set +e
vrc=0
"${jvm[@]}" synth "$work/llama" --arch llama --size small --quiet 2>&1 | log
"${jvm[@]}" quantize "$work/llama" "$work/q-slimq" --format slimq --group-size 64 --quiet > /dev/null 2>&1 || vrc=1
"${jvm[@]}" quantize "$work/llama" "$work/q-ct" --format compressed-tensors --symmetric --group-size 128 --quiet > /dev/null 2>&1 || vrc=1
for q in q-slimq q-ct; do
  for act in f32 f16; do
    args=(validate "$work/$q" --reference "$work/llama" --device "${DEVICE:-auto}" --activations "$act")
    if [[ -n "$out" ]]; then args+=(--report "$out/validate-$q-$act.json"); fi
    "${jvm[@]}" "${args[@]}" 2>&1 | tail -n 3 | log
    [[ ${PIPESTATUS[0]} -eq 0 ]] || vrc=1
  done
done
set -e
echo "== validate exit $vrc" | log

echo "== slimq bench" | log
bench=(bench --device "${DEVICE:-auto}"
       --shapes "${BENCH_SHAPES:-4096x4096,4096x11008,11008x4096,8192x8192,896x4864,384x1536}"
       --batches "${BENCH_BATCHES:-1,8,64}" --iterations "${BENCH_ITERATIONS:-5}")
if [[ -n "$out" ]]; then bench+=(--json-file "$out/bench.json"); fi
set +e
"${jvm[@]}" "${bench[@]}" 2>&1 | log
rc=${PIPESTATUS[0]}
set -e
echo "== exit $rc" | log
[[ $rc -eq 0 && $vrc -eq 0 ]]
