#!/usr/bin/env bash
# Tests the packaged tarball as a user without Java would use it: unpacks it into a temporary
# directory and runs bin/slimq with an empty environment and a PATH holding only a few shell tools
# (no java, no JAVA_HOME): --version, synth, inspect --json, an error's exit code, the man pages and
# the bash completion. Every check must also leave stderr empty (no JVM warnings) where it should.
# Usage: scripts/test-package.sh [TARBALL]   (default: the newest dist/slimq-*.tar.gz)
# Takes ~10 s after scripts/package.sh; fit for CI right after packaging.
set -euo pipefail
cd "$(dirname "$0")/.."
tarball="${1:-$(ls -t dist/slimq-*-linux-x64.tar.gz 2>/dev/null | head -n1 || true)}"
[[ -f "$tarball" ]] || { echo "test-package: no tarball; run scripts/package.sh first" >&2; exit 1; }
tarball="$(readlink -f "$tarball")"
version="$(basename "$tarball" | sed 's/^slimq-\(.*\)-linux-x64\.tar\.gz$/\1/')"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
img="$work/slimq-$version-linux-x64"

# A PATH with the tools bin/slimq uses and nothing else (in particular no java).
mkdir "$work/tools"
for t in bash cat dirname readlink sed; do ln -s "$(command -v "$t")" "$work/tools/$t"; done
run() { env -i PATH="$work/tools" HOME="$work" "$img/bin/slimq" "$@"; }

fail=0
check() { # check NAME CONDITION-RESULT
  if [[ "$2" == ok ]]; then echo "ok   $1"; else echo "FAIL $1: $2"; fail=1; fi
}

out="$(run --version 2>"$work/err")" && rc=0 || rc=$?
[[ $rc -eq 0 && "$(head -n1 <<<"$out")" == "slimq $version"* ]] && r=ok || r="rc=$rc, stdout: $out"
check "bin/slimq --version prints slimq $version" "$r"
[[ ! -s "$work/err" ]] && r=ok || r="stderr: $(cat "$work/err")"
check "--version leaves stderr empty" "$r"

if [[ -f "$img/app/slimq.aot" ]]; then
  # -XX:AOTMode=on makes the JVM refuse to start when the cache does not match this image.
  env -i PATH="$work/tools" HOME="$work" SLIMQ_JAVA_OPTS=-XX:AOTMode=on "$img/bin/slimq" --version >/dev/null 2>"$work/err" && rc=0 || rc=$?
  [[ $rc -eq 0 ]] && r=ok || r="rc=$rc: $(cat "$work/err")"
  check "the AOT cache matches the unpacked image" "$r"
fi

run synth --size tiny -q "$work/model" >"$work/out" 2>"$work/err" && rc=0 || rc=$?
[[ $rc -eq 0 && -f "$work/model/config.json" && ! -s "$work/err" ]] && r=ok || r="rc=$rc, stderr: $(cat "$work/err")"
check "synth -q writes a model, stderr empty" "$r"

run inspect --json -q "$work/model" >"$work/inspect.json" 2>"$work/err" && rc=0 || rc=$?
[[ $rc -eq 0 && "$(sed -n 2p "$work/inspect.json")" == '  "schema_version" : 1,' && ! -s "$work/err" ]] && r=ok \
  || r="rc=$rc, first lines: $(head -n2 "$work/inspect.json"), stderr: $(cat "$work/err")"
check "inspect --json starts with schema_version 1, stderr empty" "$r"

run inspect "$work/missing" >/dev/null 2>"$work/err" && rc=0 || rc=$?
[[ $rc -eq 5 && "$(cat "$work/err")" == "slimq: error: "* && $(wc -l <"$work/err") -eq 1 ]] && r=ok || r="rc=$rc, stderr: $(cat "$work/err")"
check "a missing input exits 5 with one error line" "$r"

pages="$(ls "$img/share/man/man1")"
for c in slimq slimq-inspect slimq-quantize slimq-convert slimq-run slimq-help; do
  [[ "$pages" == *"$c.1"* ]] && r=ok || r="missing; have: $(tr '\n' ' ' <<<"$pages")"
  check "man page $c.1" "$r"
done
if command -v groff >/dev/null; then
  warn="$(for p in "$img"/share/man/man1/*.1; do groff -man -Tutf8 -ww -z "$p" 2>&1; done)"
  [[ -z "$warn" ]] && r=ok || r="$warn"
  check "man pages format without groff warnings" "$r"
fi
comp="$img/share/bash-completion/completions/slimq"
bash -n "$comp" && grep -q 'complete -F _complete_slimq' "$comp" && r=ok || r="not a bash completion script"
check "bash completion script" "$r"

exit $fail
