#!/usr/bin/env bash
# Builds the self-contained slimq image: a jlink'd Java 25 runtime with only the modules slimq
# needs, the jar and its libraries, bin/slimq, man pages, bash completion and a CDS archive, as
#   dist/slimq-VERSION-linux-x64.tar.gz   (unpack anywhere; run bin/slimq; no system Java needed)
# Usage: scripts/package.sh [--no-build] [--no-cds]
#   --no-build  package the jar already in cli/target (skip `mvn package`)
#   --no-cds    skip the class-data-sharing archive (smaller, slower start-up)
# Needs a Java 25 JDK with jlink (found as the launcher finds Java) and Maven unless --no-build.
# The OpenCL runtime (libOpenCL.so, an ICD) is not bundled: it belongs to the machine's GPU driver
# or PoCL; without it the CPU paths work and --device opencl exits with code 6.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java.sh
build=1 cds=1
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --no-cds) cds=0 ;;
    *) echo "package: unknown option $a (use --no-build, --no-cds)" >&2; exit 2 ;;
  esac
done
slimq_export_java_home
jdk="$JAVA_HOME"
[[ -x "$jdk/bin/jlink" ]] || { echo "package: $jdk has no jlink; a full JDK 25 is needed" >&2; exit 1; }

if (( build )); then
  export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
  mvn -B -q -pl cli -am package -DskipTests
fi
jar=cli/target/slimq.jar
[[ -f "$jar" ]] || { echo "package: $jar missing; run without --no-build" >&2; exit 1; }
version="$(unzip -p "$jar" dev/slimq/cli/version.properties | sed -n 's/^version=//p')"
[[ -n "$version" ]] || { echo "package: no version in $jar" >&2; exit 1; }
name="slimq-$version-linux-x64"
stamp='2026-01-01 00:00:00Z'   # every file's time in the image and the tarball
dist="$PWD/dist"
stage="$dist/$name"
rm -rf "$stage" "$dist/$name.tar.gz"
mkdir -p "$stage"/{bin,app,share/man,share/bash-completion/completions}

# 1. The modules: what jdeps finds in the jar and its libraries (slimq's own jars are plain class
# path jars; the modular libraries are analysed as modules), plus what is used only reflectively
# or natively: jdk.incubator.vector (Vector API kernels, behind a runtime check), java.logging (JOCL's
# native-library loader), jdk.unsupported (sun.misc.Unsafe in Arrow and FlatBuffers).
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cp cli/target/lib/*.jar "$tmp/"
plain=()
for f in "$tmp"/*.jar; do [[ "$(unzip -Z1 "$f")" == *module-info.class* ]] || plain+=("$f"); done
mods="$(
  { "$jdk/bin/jdeps" --ignore-missing-deps --multi-release 25 --print-module-deps --class-path "$tmp/*" -R "$jar" "${plain[@]}";
    "$jdk/bin/jdeps" --ignore-missing-deps --multi-release 25 --print-module-deps --module-path "$tmp" --add-modules ALL-MODULE-PATH;
    echo jdk.incubator.vector,java.logging,jdk.unsupported; } 2>/dev/null | tr ',' '\n' | grep -E '^(java|jdk)\.' | sort -u | paste -sd, -
)"
echo "package: modules $mods" >&2

# 2. The runtime. jlink prints the incubator warning itself; it is expected here.
"$jdk/bin/jlink" --add-modules "$mods" --strip-debug --no-man-pages --no-header-files \
  --compress=zip-6 --generate-cds-archive --output "$stage/runtime" 2>&1 \
  | grep -vxF -e "$SLIMQ_INCUBATOR_WARNING" -e "Created CDS archive successfully" >&2 || true
[[ -x "$stage/runtime/bin/java" ]] || { echo "package: jlink failed" >&2; exit 1; }

# 3. The application: the jar with its lib/ (the manifest's Class-Path), the shared launcher code.
cp "$jar" "$stage/app/"
cp -r cli/target/lib "$stage/app/lib"
cp scripts/java.sh "$stage/app/java.sh"
cat > "$stage/bin/slimq" <<'LAUNCHER'
#!/usr/bin/env bash
# slimq (packaged image): runs slimq on the Java runtime in this directory; no system Java needed.
#   SLIMQ_HEAP        maximum heap (default 4g); weights are memory-mapped, not on the heap.
#   SLIMQ_JAVA_OPTS   extra JVM options.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
# shellcheck source=../app/java.sh
source "$root/app/java.sh"
# The AOT cache written at package time (SLIMQ_AOT=off to run without it): the classes slimq
# loads at start-up come parsed and linked from it. If it does not match (an edited jar, another
# runtime), the JVM loads classes the normal way; -Xlog keeps that silent.
cds=()
if [[ -f "$root/app/slimq.aot" && "${SLIMQ_AOT:-on}" != off ]]; then
  cds=(-XX:AOTCache="$root/app/slimq.aot" -Xlog:aot*=off,cds*=off:stderr)
fi
# shellcheck disable=SC2086
exec "$root/runtime/bin/java" \
  "${slimq_jvm_opts[@]}" "${cds[@]}" \
  -Xmx"${SLIMQ_HEAP:-4g}" \
  -Dslimq.progress="$(slimq_progress_mode)" \
  ${SLIMQ_JAVA_OPTS:-} \
  -jar "$root/app/slimq.jar" "$@" \
  3>&2 2> >(slimq_stderr_filter >&2)
LAUNCHER
chmod +x "$stage/bin/slimq"

# 4. Man pages and bash completion, generated from the CLI's own picocli model.
"$stage/runtime/bin/java" "${slimq_jvm_opts[@]}" -cp "$stage/app/slimq.jar:$stage/app/lib/*" dev.slimq.cli.ManPages "$tmp/docs" \
  3>&2 2> >(slimq_stderr_filter >&2)
cp -r "$tmp/docs/man/man1" "$stage/share/man/"
cp "$tmp/docs/bash-completion/slimq" "$stage/share/bash-completion/completions/slimq"

# 5. The AOT cache (JEP 483/514, Java 25's successor to AppCDS): the classes a typical run loads,
# parsed, verified and linked ahead of time, so start-up skips that work. One training run writes
# it; train on a command that loads what start-up pays for: the whole picocli command model
# (built for every call, --version included), the checkpoint reader and the JSON writer. The cache
# records the jar's path relative to the image and its size and time, so every file gets the
# tarball's fixed time first; an unpacked image then matches wherever it lies.
cp README.md CHANGELOG.md "$stage/"
find "$stage" -exec touch -h -d "$stamp" {} +
if (( cds )); then
  train="$tmp/train"
  "$stage/bin/slimq" synth --size tiny -q "$train" >/dev/null
  # -XX:AOTCacheOutput runs the assembly step in a child JVM that announces its options
  # ("Picked up JAVA_TOOL_OPTIONS"); -Xlog silences its notes on classes it leaves out (picocli's
  # Java 5 class files cannot be linked ahead of time; they load the normal way).
  "$stage/runtime/bin/java" "${slimq_jvm_opts[@]}" -XX:AOTCacheOutput="$stage/app/slimq.aot" \
    -Xlog:aot*=off,cds*=off:stderr -Dslimq.progress=none -jar "$stage/app/slimq.jar" inspect --json -q "$train" >/dev/null \
    3>&2 2> >(grep -v -e '^Picked up JAVA_TOOL_OPTIONS' -e "^$SLIMQ_INCUBATOR_WARNING\$" >&2)
  rm -f "$stage/app/slimq.aot.config"
  [[ -f "$stage/app/slimq.aot" ]] || { echo "package: AOT cache not written" >&2; exit 1; }
  touch -h -d "$stamp" "$stage/app/slimq.aot" "$stage/app"
fi

# 6. The tarball: sorted names, fixed owner and times (the jlink image and the AOT cache are not
# byte-reproducible across JDK builds, so the tarball is not promised to be either).
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$stamp" \
  -C "$dist" -czf "$dist/$name.tar.gz" "$name"
echo "package: $dist/$name.tar.gz ($(du -h "$dist/$name.tar.gz" | cut -f1); unpacked $(du -sh "$stage" | cut -f1))" >&2
echo "$dist/$name.tar.gz"
