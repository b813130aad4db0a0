#!/usr/bin/env bash
# Installs the OpenCL runtime the kernels and their tests use: PoCL (OpenCL on the CPU) and the
# ICD loader's development package, which provides the unversioned libOpenCL.so that JOCL loads.
# Skips the install when both are already present; needs root (or sudo) otherwise.
set -euo pipefail
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if have pocl-opencl-icd && have ocl-icd-opencl-dev; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-opencl: no apt-get here; install an OpenCL ICD (e.g. PoCL) and libOpenCL.so by hand" >&2
  exit 1
fi
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-opencl: need root or sudo to install pocl-opencl-icd ocl-icd-opencl-dev" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-opencl: installing pocl-opencl-icd ocl-icd-opencl-dev" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pocl-opencl-icd ocl-icd-opencl-dev >/dev/null
