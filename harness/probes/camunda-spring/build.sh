#!/usr/bin/env bash
# Builds the tlsmatrix Camunda Spring Boot starter probe (CamundaSpringProbe, camunda-spring-boot-starter 8.8.4) into
#   target/probe.jar + target/lib/*.jar
# Idempotent, offline first: see ../maven-probe.sh.
# stdout: only the java command line (the artifact); everything else goes to stderr.
# Env: MVN (default: mvn), FORCE=1 to rebuild regardless.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$(pwd)"
# shellcheck source=../maven-probe.sh
source ../maven-probe.sh
maven_probe_build "camunda-spring probe"

CP="$HERE/target/probe.jar:$HERE/target/lib/*"
echo "java -cp '$CP' tlsmatrix.camundaspring.CamundaSpringProbe [--timeout-ms 5000] [--camunda.client.NAME=VALUE ...]"
