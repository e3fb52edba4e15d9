# Shared by the Maven probes' build.sh (java, camunda-java, camunda-spring,
# kafka-java); sourced, not run. `maven_probe_build LABEL` builds the module in
# the current directory into target/probe.jar + target/lib/*.jar.
# Idempotent: does nothing when target/.built is newer than pom.xml, build.sh,
# this file and every file under src/. Tries Maven offline first (-o), falls
# back to an online build (the registry comes from the machine's Maven
# settings). Everything goes to stderr; the caller prints its artifact.
# Env: MVN (default: mvn), FORCE=1 to rebuild regardless.

maven_probe_up_to_date() {
  local stamp=target/.built
  [[ -f "$stamp" && -f target/probe.jar && -d target/lib ]] || return 1
  [[ -n "$(find pom.xml build.sh src "${BASH_SOURCE[0]}" -newer "$stamp" -print -quit)" ]] && return 1
  return 0
}

maven_probe_build() {
  local label="$1" mvn="${MVN:-mvn}" start mode
  if [[ "${FORCE:-0}" != "1" ]] && maven_probe_up_to_date; then
    echo "$label: up to date (target/probe.jar)" >&2
    return 0
  fi
  start=$(date +%s)
  rm -f target/.built
  rm -rf target/lib   # copy-dependencies never deletes stale jars
  if "$mvn" -q -B -o package >target.build.log 2>&1; then
    mode=offline
  else
    echo "$label: offline build failed, retrying online (see target.build.log)" >&2
    if "$mvn" -q -B package >target.build.log 2>&1; then
      mode=online
    else
      cat target.build.log >&2
      echo "$label: BUILD FAILED" >&2
      exit 1
    fi
  fi
  rm -f target.build.log
  touch target/.built
  echo "$label: built ($mode) in $(( $(date +%s) - start ))s" >&2
}
