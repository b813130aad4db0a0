# Sourced by the launcher and the scripts: finds a Java 25 runtime, and holds the JVM options and
# the stderr filter the launcher (./slimq) and the packaged image's bin/slimq share.
# Order: $JAVA_HOME if it is Java 25+, then the Temurin 25 JDK in the system JVM folder, then `java` on PATH.

# The major version of the Java at $1: from the runtime's `release` file when there is one (no JVM
# start, which would add ~0.1 s to every slimq call), else by asking the JVM.
slimq_java_major() {
  local home v
  home="$(dirname "$(dirname "$(readlink -f "$1")")")"
  if [[ -f "$home/release" ]]; then
    v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release" | head -n1)"
    if [[ -n "$v" ]]; then echo "$v"; return 0; fi
  fi
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1
}

slimq_find_java() {
  local c v
  for c in "${JAVA_HOME:+$JAVA_HOME/bin/java}" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java "$(command -v java 2>/dev/null || true)"; do
    [[ -n "$c" && -x "$c" ]] || continue
    v="$(slimq_java_major "$c")"
    if [[ -n "$v" && "$v" -ge 25 ]]; then
      echo "$c"
      return 0
    fi
  done
  echo "slimq: Java 25 not found. Install a Java 25 JDK (e.g. Temurin 25: apt-get install temurin-25-jdk from the Adoptium repository) and set JAVA_HOME to it." >&2
  return 1
}

# Exports JAVA_HOME for Maven from the Java found above.
slimq_export_java_home() {
  local j
  j="$(slimq_find_java)" || return 1
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$j")")")"
  export JAVA_HOME
}

# The line the JVM prints on stderr at start-up whenever an incubator module is resolved
# (ModuleBootstrap.checkIncubatingStatus). No JVM option turns it off, and the Vector API is only
# available as an incubator module, so the launcher drops this one line (see slimq_stderr_filter).
SLIMQ_INCUBATOR_WARNING="WARNING: Using incubator modules: jdk.incubator.vector"

# JVM options every slimq run needs, as the array slimq_jvm_opts.
#   native access: JOCL's native library and the FFM memory mapping; the Vector API module;
#   java.nio opened for direct-buffer cleanup; java.io opened and fd 3 named for the real stderr
#   (see Main.launcherStderr: the caller runs the JVM with 3>&2 2> >(slimq_stderr_filter >&2));
#   Arrow's sun.misc.Unsafe use allowed without a warning; the JVM's own log warnings (unified
#   logging writes them to stdout by default, where they would break --json output) sent to stderr.
slimq_jvm_opts=(
  -Xlog:disable -Xlog:all=warning:stderr
  --enable-native-access=ALL-UNNAMED
  --add-modules jdk.incubator.vector
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  -Dslimq.stderr.fd=3
  --sun-misc-unsafe-memory-access=allow
)

# How slimq shows progress, for -Dslimq.progress: a redrawn bar only when stderr is a terminal and
# not in CI (CI=true, as GitHub Actions and most CI systems set it); a line every ~5 s otherwise.
slimq_progress_mode() {
  if [[ -t 2 && ( -z "${CI:-}" || "${CI}" == false || "${CI}" == 0 ) ]]; then echo bar; else echo lines; fi
}

# Copies stdin (the JVM's stderr) to stdout, dropping the JVM's incubator warning. Everything up to
# that line is read line by line (only what the JVM prints before it: option errors and the like);
# after it, `cat` copies bytes as they come, so progress bars (carriage returns, no newline) and
# messages stream unchanged. Ctrl-C is ignored here so that the JVM's last words still get through;
# the filter ends when the JVM closes its stderr (exits).
slimq_stderr_filter() {
  trap '' INT
  local line
  while IFS= read -r line; do
    if [[ "$line" == "$SLIMQ_INCUBATOR_WARNING" ]]; then
      exec cat
    fi
    printf '%s\n' "$line"
  done
  if [[ -n "$line" ]]; then printf '%s' "$line"; fi
}
