#!/usr/bin/env bash
# Builds the Java test programs (pom.xml beside this script) into OUT_DIR and writes
# OUT_DIR/java.args, the `-cp ...` argument file the ctest Java tests pass to `java @FILE`.
#   build.sh OUT_DIR
# Offline first (mvn -o: ~/.m2 already has every jar and plugin after the first run); if that
# fails, once more online to resolve them from Maven Central. Fails with Maven's last lines and
# what to do, never silently.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: build.sh OUT_DIR}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"  # Maven resolves a relative path against the pom's folder
for tool in java mvn; do
  command -v "$tool" > /dev/null || {
    echo "java_build: '$tool' is not installed; scripts/install-deps.sh installs default-jdk-headless and maven" >&2
    exit 1
  }
done
ARGS=(-B -q -f "$HERE/pom.xml" "-Dsluice.build.dir=$OUT/target" package
  dependency:build-classpath "-Dmdep.outputFile=$OUT/classpath.txt")
if ! mvn -o "${ARGS[@]}" > "$OUT/mvn-offline.log" 2>&1; then
  echo "java_build: the offline build failed (the first run, or ~/.m2 lacks a jar or plugin);" \
    "resolving from Maven Central (log: $OUT/mvn.log)"
  if ! mvn "${ARGS[@]}" > "$OUT/mvn.log" 2>&1; then
    tail -n 30 "$OUT/mvn.log" >&2
    echo "java_build: Maven could not build $HERE/pom.xml (log above: $OUT/mvn.log). It needs" \
      "Maven Central, or a ~/.m2 that already has kafka-clients and kafka-streams 4.4.0 and the" \
      "build plugins." >&2
    exit 1
  fi
fi
JAR="$OUT/target/sluice-java-tests-1.jar"
[[ -s "$JAR" && -s "$OUT/classpath.txt" ]] || {
  echo "java_build: Maven succeeded but $JAR or $OUT/classpath.txt is missing" >&2
  exit 1
}
printf -- '-cp %s:%s\n' "$JAR" "$(cat "$OUT/classpath.txt")" > "$OUT/java.args"
echo "java_build: built $JAR"
