"""kafka-python (pure Python, the ssl module on OpenSSL) listing a cluster once.

Takes the bootstrap, security protocol, SASL credentials, a CA file and the
client properties as the Java client names them (--prop k=v);
ssl.endpoint.identification.algorithm maps to ssl_check_hostname (https:
on, empty or none: off), as kafka-python documents it. Prints one JSON line:
{"ok":true,"brokers":N} or {"ok":false,"stage":"describeCluster","error":"...",
"warning":"<kafka.conn's first warning or error>"}.
"""

import argparse
import json
import os
import logging
import signal
import sys


class FirstProblem(logging.Handler):
    """Keeps kafka.conn's first warning or error: where kafka-python says why."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.first = None

    def emit(self, record):
        if self.first is None:
            self.first = record.getMessage()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--security-protocol", default="PLAINTEXT")
    p.add_argument("--sasl-mechanism")
    p.add_argument("--username")
    p.add_argument("--password")
    p.add_argument("--ca-pem")
    p.add_argument("--prop", action="append", default=[])
    p.add_argument("--timeout-ms", type=int, default=8000)
    a = p.parse_args()

    problem = FirstProblem()
    logging.getLogger("kafka").addHandler(problem)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    props = dict(kv.split("=", 1) for kv in a.prop)
    check = props.get("ssl.endpoint.identification.algorithm", "https")
    config = dict(
        bootstrap_servers=a.bootstrap,
        security_protocol=a.security_protocol,
        ssl_check_hostname=check.lower() == "https",
        request_timeout_ms=a.timeout_ms,
    )
    if a.ca_pem:
        config["ssl_cafile"] = a.ca_pem
    if a.sasl_mechanism:
        config["sasl_mechanism"] = a.sasl_mechanism
        config["sasl_plain_username"] = a.username
        config["sasl_plain_password"] = a.password
    # kafka-python retries a failed bootstrap connection until its own
    # timeouts, longer than a case's bound: the probe's own bound ends it and
    # reports kafka.conn's first warning, which says why.
    def give_up(signum, frame):
        raise TimeoutError("no answer within %d ms" % a.timeout_ms)

    signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, a.timeout_ms / 1000.0)
    try:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(**config)
        cluster = admin.describe_cluster()
        admin.close()
        print(json.dumps({"ok": True, "brokers": len(cluster.get("brokers", []))}))
    except Exception as e:  # what the application gets, and kafka.conn's reason
        line = {"ok": False, "stage": "describeCluster", "error": "%s: %s" % (type(e).__name__, e)}
        if problem.first:
            line["warning"] = problem.first
        print(json.dumps(line))
    signal.setitimer(signal.ITIMER_REAL, 0)
    sys.stdout.flush()
    # Background threads of the client must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()
