#!/usr/bin/env bash
# Builds the tlsmatrix Camunda Spring Boot starter probe (CamundaSpringProbe, camunda-spring-boot-starter 8.8.4) into
#   target/probe.jar + target/lib/*.jar
# Idempotent: does nothing when target/.built is newer than pom.xml, build.sh and every file
# under src/. Tries Maven offline first (-o), falls back to an online build.
# stdout: only the java command line (the artifact); everything else goes to stderr.
# Env: MVN (default: mvn), FORCE=1 to rebuild regardless.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$(pwd)"
MVN="${MVN:-mvn}"
STAMP=target/.built

up_to_date() {
  [[ -f "$STAMP" && -f target/probe.jar && -d target/lib ]] || return 1
  [[ -n "$(find pom.xml build.sh src -newer "$STAMP" -print -quit)" ]] && return 1
  return 0
}

if [[ "${FORCE:-0}" != "1" ]] && up_to_date; then
  echo "camunda-spring probe: up to date (target/probe.jar)" >&2
else
  start=$(date +%s)
  rm -f "$STAMP"
  rm -rf target/lib   # copy-dependencies never deletes stale jars
  if "$MVN" -q -B -o package >target.build.log 2>&1; then
    mode=offline
  else
    echo "camunda-spring probe: offline build failed, retrying online (see target.build.log)" >&2
    if "$MVN" -q -B package >target.build.log 2>&1; then
      mode=online
    else
      cat target.build.log >&2
      echo "camunda-spring probe: BUILD FAILED" >&2
      exit 1
    fi
  fi
  rm -f target.build.log
  touch "$STAMP"
  echo "camunda-spring probe: built ($mode) in $(( $(date +%s) - start ))s" >&2
fi

CP="$HERE/target/probe.jar:$HERE/target/lib/*"
echo "java -cp '$CP' tlsmatrix.camundaspring.CamundaSpringProbe [--timeout-ms 5000] [--camunda.client.NAME=VALUE ...]"
