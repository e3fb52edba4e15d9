#!/usr/bin/env bash
# Builds the tlsmatrix Kafka probes (ClientProbe, Broker) into
#   target/probe.jar + target/lib/*.jar
# Idempotent, offline first: see ../maven-probe.sh.
# stdout: only the two java command lines (the artifact); everything else goes to stderr.
# Env: MVN (default: mvn), FORCE=1 to rebuild regardless.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$(pwd)"
# shellcheck source=../maven-probe.sh
source ../maven-probe.sh
maven_probe_build "kafka probes"

CP="$HERE/target/probe.jar:$HERE/target/lib/*"
JVM="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
echo "java $JVM -Xmx512m -cp '$CP' tlsmatrix.kafka.Broker --dir DIR [--listener NAME://127.0.0.1:0]... [--security PROTO|NAME=PROTO,...] [--users u:p,...] [--cert-pem F --key-pem F]"
echo "java $JVM -Xmx256m -cp '$CP' tlsmatrix.kafka.ClientProbe --bootstrap HOST:PORT --security-protocol PROTO [--sasl-mechanism PLAIN --username U --password P] [--ca-pem F] [--produce N --consume N] [--timeout-ms MS]"
