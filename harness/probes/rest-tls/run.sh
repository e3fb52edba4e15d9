#!/usr/bin/env bash
# The REST oracle: RestOracle.java on embedded Tomcat at the version the
# modelled release serves its REST API with (Zeebe 8.6.0: tomcat-embed-core
# 10.1.30, from io.camunda:camunda-zeebe:8.6.0's pom; see
# tlsmatrix::version::REST_SERVER_8_6), from the local Maven repository
# (fetched with `mvn dependency:get` when missing).
# Usage: harness/probes/rest-tls/run.sh [--cert CHAIN.pem --key KEY.pem]
#        harness/probes/rest-tls/run.sh --fetch   (only make sure the jars are there and the class is compiled)
set -euo pipefail
TOMCAT=10.1.30
REPO="${MAVEN_REPO:-$HOME/.m2/repository}"
here="$(cd "$(dirname "$0")" && pwd)"
cp=""
jar() { # group artifact version
  local file="$REPO/${1//.//}/$2/$3/$2-$3.jar"
  if [ ! -f "$file" ]; then
    mvn -q dependency:get -Dartifact="$1:$2:$3" -Dtransitive=false >&2
  fi
  cp="$cp${cp:+:}$file"
}
# tomcat-embed-core's one compile dependency is tomcat-annotations-api.
jar org.apache.tomcat.embed tomcat-embed-core "$TOMCAT"
jar org.apache.tomcat tomcat-annotations-api "$TOMCAT"
# shellcheck source=../java-source.sh
source "$here/../java-source.sh"
compile_source "$here" RestOracle "$cp"
if [ "${1:-}" = --fetch ]; then exit 0; fi
exec java -cp "$cp:$classes" RestOracle "$@"
