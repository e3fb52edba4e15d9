"""Python grpcio (gRPC core, BoringSSL) calling the Zeebe gateway's Topology once.

No Zeebe library: a generic unary call with hand-written (de)serializers, as a
user of grpcio with their own stubs makes it. TopologyRequest is empty; of the
TopologyResponse only field 1 (repeated BrokerInfo brokers) is counted.
Prints one JSON line: {"ok":true,"brokers":N} or
{"ok":false,"error":"...","chain":["..."]}. The ZEEBE_* variables are read by
nobody here (grpcio knows none of them); GRPC_DEFAULT_SSL_ROOTS_FILE_PATH is
grpc core's own.
"""

import argparse
import json
import os
import re
import sys

import grpc

METHOD = "/gateway_protocol.Gateway/Topology"


def varint(data, i):
    shift = 0
    value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def count_brokers(data):
    """Counts field 1 (length-delimited) in a TopologyResponse."""
    i = 0
    brokers = 0
    while i < len(data):
        key, i = varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            length, i = varint(data, i)
            i += length
            if field == 1:
                brokers += 1
        elif wire == 5:
            i += 4
        else:
            raise ValueError("unexpected wire type %d" % wire)
    return brokers


def run_case(argv):
    """One call, as the one-shot probe makes it: returns the JSON line's
    object and the channel (closed by the warm probe after the case)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--plaintext", action="store_true")
    parser.add_argument("--ca")
    parser.add_argument("--timeout-ms", type=int, default=8000)
    args = parser.parse_args(argv)

    # gRPC core reconnects in the background after a failed attempt; by
    # timing a second attempt reached the gateway before the process exited,
    # and the gateway logged it twice. A long backoff keeps it to one attempt
    # per run (the texts do not change).
    options = [
        ("grpc.initial_reconnect_backoff_ms", 20000),
        ("grpc.min_reconnect_backoff_ms", 20000),
    ]
    channel = None
    try:
        if args.plaintext:
            channel = grpc.insecure_channel(args.address, options=options)
        else:
            roots = None
            if args.ca:
                with open(args.ca, "rb") as f:
                    roots = f.read()
            channel = grpc.secure_channel(
                args.address,
                grpc.ssl_channel_credentials(root_certificates=roots),
                options=options,
            )
        call = channel.unary_unary(
            METHOD,
            request_serializer=lambda _: b"",
            response_deserializer=lambda b: b,
        )
        answer = call(None, timeout=args.timeout_ms / 1000.0)
        return {"ok": True, "brokers": count_brokers(answer)}, channel
    except grpc.RpcError as e:
        # What a user sees first (the error's repr without its debug
        # string): the status and its details. The debug string (without its
        # timestamp) is a cause only when it says more than NAME:details.
        error = "status = %s\n\tdetails = \"%s\"" % (e.code(), e.details())
        chain = []
        debug = getattr(e, "debug_error_string", None)
        if callable(debug):
            text = re.sub(r',? ?created_time:"[^"]*"', "", debug())
            if text != "%s:%s" % (e.code().name, e.details()):
                chain.append(text)
        return {"ok": False, "error": error, "chain": chain}, channel
    except Exception as e:  # the file or the address, before any RPC
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}, channel


def main():
    line, _ = run_case(sys.argv[1:])
    print(json.dumps(line))
    sys.stdout.flush()


def serve():
    """Warm mode (--serve): one JSON request per line on stdin,
    {"args":[...],"env":{...},"cwd":"...","home":"..."}; the process
    environment becomes exactly `env` plus HOME (os.environ, which also sets
    the C environment gRPC core reads), the working directory `cwd`; a fresh
    channel and credentials per case, closed after it (gRPC core keeps no
    subchannel of a closed channel). What gRPC core reads once per process
    (GRPC_*, its default roots, proxies) the harness never sends here: those
    cases run cold. The answer is the one-shot line plus its exit code."""
    print(json.dumps({"ready": True}, separators=(",", ":")))
    sys.stdout.flush()
    for raw in sys.stdin:
        if not raw.strip():
            continue
        try:
            req = json.loads(raw)
            os.environ.clear()
            os.environ.update({k: str(v) for k, v in req.get("env", {}).items()})
            if req.get("home"):
                os.environ["HOME"] = str(req["home"])
            if req.get("cwd"):
                os.chdir(req["cwd"])
            line, channel = run_case(req["args"])
            code = 0
        except SystemExit as e:  # argparse's usage error: the one-shot's exit
            line, channel = {"ok": False, "error": "usage: exit %s" % e.code}, None
            code = e.code if isinstance(e.code, int) else 2
        except Exception as e:
            line, channel, code = {"ok": False, "stage": "serve", "error": str(e)}, None, 1
        if channel is not None:
            channel.close()
        line["exit"] = code
        print(json.dumps(line))
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main()
