#!/usr/bin/env node
// tlsmatrix client probe for the Camunda 8 JavaScript SDK (@camunda8/sdk, pinned in package.json).
//
//   node probe.js --address HOST:PORT [--plaintext] [--ca PATH] [--rest] [--timeout-ms 5000]
//
// Makes a Camunda8 object the way a user does (the SDK reads the environment; the probe adds a
// constructor config object), sends ONE topology request (gRPC: getZeebeGrpcApiClient().topology();
// --rest: getCamundaRestClient().getTopology()) and prints exactly one JSON line on stdout:
//   {"ok":true,"brokers":N,"gateway_version":"..."}                                     exit 0
//   {"ok":false,"stage":"...","error":"...","code":N|null,"details":"..."|null,"chain":[...],"log":[...]} exit 1
// `log` holds what the SDK itself wrote with console.error/console.warn (a user sees it beside the
// error: a CA file it could not read is only such a line). Cold only: the SDK reads the
// environment when it is loaded (typed-env's createEnv at require time), so one process per case.
'use strict';

// The SDK writes warnings and errors with console.*; stdout is reserved for our one JSON line.
const libraryLog = [];
for (const m of ['log', 'info', 'debug', 'trace']) {
  console[m] = console.error.bind(console);
}
const rawError = console.error.bind(console);
const keep = (level) => (...parts) => {
  const text = parts
    .map((p) => (p instanceof Error ? String(p.message) : typeof p === 'string' ? p : JSON.stringify(p)))
    .join(' ');
  if (libraryLog.length < 20) libraryLog.push(`${level}: ${text}`);
  rawError(...parts);
};
console.warn = keep('warn');
console.error = keep('error');

function parseArgs(argv) {
  const a = { address: undefined, plaintext: false, ca: undefined, rest: false, timeoutMs: 5000 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const need = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${k}`);
      return argv[++i];
    };
    if (k === '--address') a.address = need();
    else if (k === '--plaintext') a.plaintext = true;
    else if (k === '--ca') a.ca = need();
    else if (k === '--rest') a.rest = true;
    else if (k === '--timeout-ms') {
      const v = need();
      a.timeoutMs = Number(v);
      if (!Number.isInteger(a.timeoutMs) || a.timeoutMs <= 0) throw new Error(`bad --timeout-ms: ${v}`);
    } else throw new Error(`unknown argument: ${k}`);
  }
  if (!a.address) throw new Error('--address HOST:PORT is required');
  return a;
}

// The constructor config a user writes for this case. Constructor values win over the
// environment (lodash.mergeWith({}, env, config) in lib/Configuration.js), so the probe sets
// only what the case's flags say and leaves every other key to the environment.
function sdkConfig(args) {
  const config = {
    // One attempt: no promise-retry loop around the call (ZEEBE_GRPC_CLIENT_RETRY defaults to true).
    zeebeGrpcSettings: { ZEEBE_GRPC_CLIENT_RETRY: false },
  };
  if (args.rest) {
    config.ZEEBE_REST_ADDRESS = `${args.plaintext ? 'http' : 'https'}://${args.address}`;
  } else {
    // The legacy address without a scheme: TLS is then CAMUNDA_SECURE_CONNECTION ?? !ZEEBE_INSECURE_CONNECTION
    // (zeebe/zb/ZeebeGrpcClient.js), so the environment's TLS switches still apply.
    config.ZEEBE_ADDRESS = args.address;
    if (args.plaintext) config.CAMUNDA_SECURE_CONNECTION = false;
  }
  if (args.ca) config.CAMUNDA_CUSTOM_ROOT_CERT_PATH = args.ca;
  return config;
}

function errorLine(stage, err) {
  const chain = [];
  const seen = new Set();
  for (let e = err; e != null && !seen.has(e) && chain.length < 20; e = e.cause) {
    seen.add(e);
    chain.push(e instanceof Error || (e && typeof e.message === 'string') ? String(e.message) : String(e));
  }
  return {
    ok: false,
    stage,
    error: err && typeof err.message === 'string' ? err.message : String(err),
    code: err && typeof err.code === 'number' ? err.code : null,
    details: err && typeof err.details === 'string' ? err.details : null,
    chain,
    log: libraryLog.slice(),
  };
}

function main() {
  let done = false;
  const finish = (obj, code) => {
    if (done) return;
    done = true;
    // Exit from the write callback so the line is flushed even when stdout is a pipe; the exit
    // also drops the client's channel and timers (grpc-js keeps reconnecting a failed channel).
    process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(code));
    setTimeout(() => process.exit(code), 2000).unref();
  };

  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    finish(errorLine('usage', e), 1);
    return;
  }

  let call;
  try {
    const { Camunda8 } = require('@camunda8/sdk');
    const c8 = new Camunda8(sdkConfig(args));
    if (args.rest) {
      const rest = c8.getCamundaRestClient();
      call = () => rest.getTopology();
    } else {
      const zbc = c8.getZeebeGrpcApiClient();
      call = () => zbc.topology();
    }
  } catch (e) {
    finish(errorLine('new-client', e), 1);
    return;
  }

  const timer = setTimeout(() => {
    finish(errorLine('timeout', new Error(`probe timeout: topology did not complete within ${args.timeoutMs} ms`)), 1);
  }, args.timeoutMs);

  Promise.resolve()
    .then(call)
    .then((t) => {
      clearTimeout(timer);
      finish(
        {
          ok: true,
          brokers: Array.isArray(t && t.brokers) ? t.brokers.length : 0,
          gateway_version: t && t.gatewayVersion != null ? String(t.gatewayVersion) : '',
        },
        0
      );
    })
    .catch((e) => {
      clearTimeout(timer);
      finish(errorLine('topology', e), 1);
    });
}

process.on('unhandledRejection', (e) => {
  // The SDK builds its gRPC client in a promise (this.grpc); a rejection there may also surface
  // unhandled. Log it; the call's own rejection is what the JSON line reports.
  rawError('probe: unhandled rejection:', e && e.message ? e.message : e);
});

main();
