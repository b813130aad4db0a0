# Sourced by the launcher and the scripts: finds a Java 25 runtime.
# Order: $JAVA_HOME if it is Java 25+, then the Temurin 25 JDK in the system JVM folder, then `java` on PATH.
slimq_java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1; }

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
