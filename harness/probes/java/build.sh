#!/usr/bin/env bash
# Builds the tlsmatrix Java probes (NettyOracleGateway, JavaClientProbe) into
#   target/probe.jar + target/lib/*.jar
# Idempotent, offline first: see ../maven-probe.sh.
# Env: MVN (default: mvn), FORCE=1 to rebuild regardless.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$(pwd)"
# shellcheck source=../maven-probe.sh
source ../maven-probe.sh
maven_probe_build "java probes"
MVN="${MVN:-mvn}"

# The netty-oracle once per modelled Zeebe release, on that release's runtime:
# versions/<release>.properties gives the Netty, grpc-java, netty-tcnative and
# BouncyCastle versions (read from the release's published poms), oracle/pom.xml
# builds NettyOracleGateway with exactly those into target/oracle-<release>/.
# Same offline-first logic and up-to-date check as above.
for props in versions/*.properties; do
  release="$(basename "$props" .properties)"
  out="target/oracle-$release"
  stamp="$out/.built"
  if [[ "${FORCE:-0}" != "1" && -f "$stamp" && -f "$out/probe.jar" && -d "$out/lib" \
        && -z "$(find "$props" oracle/pom.xml build.sh src -newer "$stamp" -print -quit)" ]]; then
    echo "netty-oracle $release: up to date ($out/probe.jar)" >&2
    continue
  fi
  start=$(date +%s)
  value() { sed -n "s/^$1=//p" "$props" | tr -d '[:space:]'; }
  args=(-Dproduct.version="$release" -Dnetty.version="$(value netty)"
        -Dgrpc.version="$(value grpc)" -Dtcnative.version="$(value tcnative)")
  bc="$(value bouncycastle)"
  [[ -n "$bc" ]] && args+=(-Dbouncycastle.version="$bc")
  rm -f "$stamp"
  rm -rf "$out/lib"
  if "$MVN" -q -B -o -f oracle/pom.xml package "${args[@]}" >"$out.build.log" 2>&1; then
    mode=offline
  elif "$MVN" -q -B -f oracle/pom.xml package "${args[@]}" >"$out.build.log" 2>&1; then
    mode=online
  else
    cat "$out.build.log" >&2
    echo "netty-oracle $release: BUILD FAILED" >&2
    exit 1
  fi
  rm -f "$out.build.log"
  touch "$stamp"
  echo "netty-oracle $release: built ($mode) in $(( $(date +%s) - start ))s" >&2
done

CP="$HERE/target/probe.jar:$HERE/target/lib/*"
echo "java -cp '$HERE/target/oracle-RELEASE/probe.jar:$HERE/target/oracle-RELEASE/lib/*' tlsmatrix.probe.NettyOracleGateway --config FILE.yaml"
echo "java -cp '$CP' tlsmatrix.probe.JavaClientProbe --address HOST:PORT [--plaintext] [--ca PATH] [--timeout-ms 5000]"
