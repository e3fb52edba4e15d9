#!/usr/bin/env bash
# Re-measures the facts in README.md: starts one real broker (tlsmatrix.kafka.Broker) with four
# listeners (PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL), then runs kcat and tlsmatrix.kafka.ClientProbe
# through the same 16 cases and writes the transcripts, ports replaced by P, to
#   facts/kcat.txt  facts/clientprobe.txt
# Needs: java 17, mvn (build.sh), openssl, kcat (apt-get install -y kcat). Takes ~3 minutes.
# Env: OUT (default: facts), WORK (default: a new temp dir, removed at the end).
set -euo pipefail
cd "$(dirname "$0")"
HERE="$(pwd)"
OUT="${OUT:-$HERE/facts}"
command -v kcat >/dev/null || { echo "measure.sh: kcat not installed (apt-get install -y kcat)" >&2; exit 1; }
./build.sh >/dev/null
CP="$HERE/target/probe.jar:$HERE/target/lib/*"
JVM=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
WORK="${WORK:-$(mktemp -d /tmp/tlsmatrix-kafka-measure.XXXXXX)}"
mkdir -p "$WORK/pki" "$OUT"
BPID=""
cleanup() { [[ -n "$BPID" ]] && kill -TERM "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# --- PKI: test CA, a wrong CA, server cert for localhost/127.0.0.1 with a PKCS#8 key
( cd "$WORK/pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=tlsmatrix test CA" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout wrongca.key -out wrongca.pem -days 30 -subj "/CN=tlsmatrix wrong CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 30 -extfile ext.cnf 2>/dev/null )
PKI="$WORK/pki"

# --- broker
java "${JVM[@]}" -Xmx512m -cp "$CP" tlsmatrix.kafka.Broker --dir "$WORK/broker" \
  --listener PLAINTEXT://127.0.0.1:0 --listener SASL_PLAINTEXT://127.0.0.1:0 \
  --listener SSL://127.0.0.1:0 --listener SASL_SSL://127.0.0.1:0 \
  --users alice:alice-secret,bob:bob-secret --cert-pem "$PKI/server.pem" --key-pem "$PKI/server.key" \
  >"$WORK/broker.out" 2>"$WORK/broker.err" &
BPID=$!
for _ in $(seq 1 600); do grep -q TLSMATRIX-READY "$WORK/broker.out" && break
  kill -0 "$BPID" 2>/dev/null || { cat "$WORK/broker.err" >&2; exit 1; }; sleep 0.1; done
read -r _ _ P SP S SS _ <<<"$(sed 's/[A-Z_]*=//g' "$WORK/broker.out")"
echo "measure.sh: broker ready: $(cat "$WORK/broker.out")" >&2

norm() { sed -E "s/127\.0\.0\.1:[0-9]+/127.0.0.1:P/g; s#$PKI/#pki/#g"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# case NAME | kcat args... | ClientProbe args...
CASES=$(cat <<CASES
plaintext-ok|-b $P|--bootstrap $P --security-protocol PLAINTEXT
sasl-plain-ok|-b $SP -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN -X sasl.username=alice -X sasl.password=alice-secret|--bootstrap $SP --security-protocol SASL_PLAINTEXT --username alice --password alice-secret
sasl-plain-wrong-password|-b $SP -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN -X sasl.username=alice -X sasl.password=nope|--bootstrap $SP --security-protocol SASL_PLAINTEXT --username alice --password nope
sasl-plain-unknown-user|-b $SP -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN -X sasl.username=mallory -X sasl.password=alice-secret|--bootstrap $SP --security-protocol SASL_PLAINTEXT --username mallory --password alice-secret
plaintext-client-vs-sasl-listener|-b $SP|--bootstrap $SP --security-protocol PLAINTEXT
scram256-client-vs-plain-listener|-b $SP -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=SCRAM-SHA-256 -X sasl.username=alice -X sasl.password=alice-secret|--bootstrap $SP --security-protocol SASL_PLAINTEXT --sasl-mechanism SCRAM-SHA-256 --username alice --password alice-secret
ssl-client-vs-plaintext-listener|-b $P -X security.protocol=SSL -X ssl.ca.location=$PKI/ca.pem|--bootstrap $P --security-protocol SSL --ca-pem $PKI/ca.pem
plaintext-client-vs-ssl-listener|-b $S|--bootstrap $S --security-protocol PLAINTEXT
ssl-ok|-b $S -X security.protocol=SSL -X ssl.ca.location=$PKI/ca.pem|--bootstrap $S --security-protocol SSL --ca-pem $PKI/ca.pem
ssl-no-ca|-b $S -X security.protocol=SSL|--bootstrap $S --security-protocol SSL
ssl-wrong-ca|-b $S -X security.protocol=SSL -X ssl.ca.location=$PKI/wrongca.pem|--bootstrap $S --security-protocol SSL --ca-pem $PKI/wrongca.pem
ssl-ca-file-missing|-b $S -X security.protocol=SSL -X ssl.ca.location=/nonexistent/ca.pem|--bootstrap $S --security-protocol SSL --ca-pem /nonexistent/ca.pem
sasl-ssl-ok|-b $SS -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN -X sasl.username=bob -X sasl.password=bob-secret -X ssl.ca.location=$PKI/ca.pem|--bootstrap $SS --security-protocol SASL_SSL --ca-pem $PKI/ca.pem --username bob --password bob-secret
sasl-plaintext-client-vs-sasl-ssl-listener|-b $SS -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN -X sasl.username=bob -X sasl.password=bob-secret|--bootstrap $SS --security-protocol SASL_PLAINTEXT --username bob --password bob-secret
sasl-ssl-client-vs-sasl-plaintext-listener|-b $SP -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN -X sasl.username=bob -X sasl.password=bob-secret -X ssl.ca.location=$PKI/ca.pem|--bootstrap $SP --security-protocol SASL_SSL --ca-pem $PKI/ca.pem --username bob --password bob-secret
sasl-ssl-wrong-password|-b $SS -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN -X sasl.username=bob -X sasl.password=nope -X ssl.ca.location=$PKI/ca.pem|--bootstrap $SS --security-protocol SASL_SSL --ca-pem $PKI/ca.pem --username bob --password nope
CASES
)

{ echo "# kcat: $(kcat -V 2>&1 | grep Version)"; echo "# each: kcat ARGS -L -m 5 (timeout 15); stdout: first 3 lines"; } >"$OUT/kcat.txt"
{ echo "# tlsmatrix.kafka.ClientProbe (kafka-clients $(ls "$HERE"/target/lib | sed -n 's/^kafka-clients-\(.*\)\.jar$/\1/p')), --timeout-ms 5000, JVM -Xmx256m"; } >"$OUT/clientprobe.txt"
while IFS='|' read -r name kargs pargs; do
  [[ -z "$name" ]] && continue
  echo "measure.sh: $name" >&2
  s=$(date +%s%N); set +e
  # shellcheck disable=SC2086
  timeout 15 kcat $kargs -L -m 5 >"$WORK/k.out" 2>"$WORK/k.err"; rc=$?; set -e
  { echo "=== $name"; echo "\$ kcat $kargs -L -m 5" | norm; echo "rc=$rc time_ms=$(ms "$s")"
    echo "--- stdout"; head -3 "$WORK/k.out" | norm; echo "--- stderr"; norm <"$WORK/k.err"; } >>"$OUT/kcat.txt"
  s=$(date +%s%N); set +e
  # shellcheck disable=SC2086
  java "${JVM[@]}" -Xmx256m -cp "$CP" tlsmatrix.kafka.ClientProbe $pargs --timeout-ms 5000 >"$WORK/p.out" 2>"$WORK/p.err"; rc=$?; set -e
  { echo "=== $name"; echo "\$ ClientProbe $pargs --timeout-ms 5000" | norm; echo "rc=$rc time_ms=$(ms "$s")"
    echo "--- stdout"; norm <"$WORK/p.out"; } >>"$OUT/clientprobe.txt"
done <<<"$CASES"
echo "measure.sh: wrote $OUT/kcat.txt $OUT/clientprobe.txt" >&2
