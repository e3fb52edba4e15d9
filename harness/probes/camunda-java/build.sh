#!/usr/bin/env bash
# Builds the tlsmatrix Camunda client probe (CamundaClientProbe, camunda-client-java 8.9.0) into
#   target/probe.jar + target/lib/*.jar
# Idempotent, offline first: see ../maven-probe.sh.
# stdout: only the java command line (the artifact); everything else goes to stderr.
# Env: MVN (default: mvn), FORCE=1 to rebuild regardless.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$(pwd)"
# shellcheck source=../maven-probe.sh
source ../maven-probe.sh
maven_probe_build "camunda probe"

CP="$HERE/target/probe.jar:$HERE/target/lib/*"
echo "java -cp '$CP' tlsmatrix.camunda.CamundaClientProbe (--address | --rest) http[s]://HOST:PORT [--ca PATH] [--timeout-ms 5000]"
