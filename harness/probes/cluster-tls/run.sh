#!/usr/bin/env bash
# Runs ClusterTlsProbe.java with Netty and netty-tcnative-boringssl-static from
# the local Maven repository (fetched with `mvn dependency:get` when missing).
# Usage: harness/probes/cluster-tls/run.sh SERVER_CHAIN SERVER_KEY DIALLER_CHAIN
#        harness/probes/cluster-tls/run.sh --mixed tls-server|plain-server CHAIN KEY
#        harness/probes/cluster-tls/run.sh --fetch   (only make sure the jars are there and the class is compiled)
set -euo pipefail
NETTY=4.1.122.Final
TCNATIVE=2.0.72.Final
REPO="${MAVEN_REPO:-$HOME/.m2/repository}/io/netty"
here="$(cd "$(dirname "$0")" && pwd)"
cp=""
jar() { # artifact version [classifier]
  local file="$REPO/$1/$2/$1-$2${3:+-$3}.jar"
  if [ ! -f "$file" ]; then
    mvn -q dependency:get -Dartifact="io.netty:$1:$2${3:+:jar:$3}" -Dtransitive=false >&2
  fi
  cp="$cp${cp:+:}$file"
}
for a in netty-common netty-buffer netty-transport netty-handler netty-codec netty-resolver netty-transport-native-unix-common; do
  jar "$a" "$NETTY"
done
jar netty-tcnative-classes "$TCNATIVE"
jar netty-tcnative-boringssl-static "$TCNATIVE" "linux-$(uname -m | sed 's/aarch64/aarch_64/')"
# shellcheck source=../java-source.sh
source "$here/../java-source.sh"
compile_source "$here" ClusterTlsProbe "$cp"
if [ "${1:-}" = --fetch ]; then exit 0; fi
exec java -cp "$cp:$classes" ClusterTlsProbe "$@"
