#!/usr/bin/env node
// tlsmatrix client probe for the Camunda 8 JavaScript SDK (@camunda8/sdk, pinned in package.json).
//
//   node probe.js --address HOST:PORT [--plaintext] [--ca PATH] [--rest] [--timeout-ms 5000]
//   node probe.js --serve      (warm: one JSON request per line on stdin, one result line each)
//
// Makes a Camunda8 object the way a user does (the SDK reads the environment; the probe adds a
// constructor config object), sends ONE topology request (gRPC: getZeebeGrpcApiClient().topology();
// --rest: getCamundaRestClient().getTopology()) and prints exactly one JSON line on stdout:
//   {"ok":true,"brokers":N,"gateway_version":"..."}                                     exit 0
//   {"ok":false,"stage":"...","error":"...","code":N|null,"details":"..."|null,"chain":[...],"log":[...]} exit 1
// `log` holds what the SDK itself wrote with console.error/console.warn (a user sees it beside the
// error: a CA file it could not read is only such a line). The SDK reads the environment when it
// is loaded (typed-env's createEnv at require time): the warm probe loads the SDK's own modules
// afresh for each case, after setting the case's environment (see serve()).
'use strict';

const nodeWarm = require('../node-warm.js');

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

// One case: parse its arguments, make a Camunda8 object, call topology once. Resolves to
// { obj, code, zbc }: the JSON result, the exit code the one-shot probe ends with, and the gRPC
// client (if one was made) for the warm probe to close.
function runCase(argv) {
  return new Promise((resolve) => {
    let done = false;
    let zbc;
    const finish = (obj, code) => {
      if (done) return;
      done = true;
      resolve({ obj, code, zbc });
    };

    let args;
    try {
      args = parseArgs(argv);
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
        zbc = c8.getZeebeGrpcApiClient();
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
  });
}

function main() {
  runCase(process.argv.slice(2)).then(({ obj, code }) => {
    // Exit from the write callback so the line is flushed even when stdout is a pipe; the exit
    // also drops the client's channel and timers (grpc-js keeps reconnecting a failed channel).
    process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(code));
    setTimeout(() => process.exit(code), 2000).unref();
  });
}

const within = (ms, promise) =>
  Promise.race([Promise.resolve(promise).catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);

// After a warm case: what a one-shot process's exit would have ended. The gRPC client is closed
// (bounded) and its grpc-js client retired (node-warm.js); the HTTP(S) agents' kept-alive sockets
// (the REST client's and the OAuth token call's: got uses Node's global agents) are destroyed, so
// no later case meets a connection of this one. Resolves to whether the process is clean.
async function endCase(zbc) {
  require('https').globalAgent.destroy();
  require('http').globalAgent.destroy();
  if (!zbc) return true;
  await within(600, zbc.close(500));
  const grpc = await within(200, zbc.grpc);
  // No GrpcClient: its certificate step failed (a missing client key), no channel was made.
  if (!grpc || !grpc.client) return true;
  return nodeWarm.retire(grpc.client);
}

// Warm mode. Each request line is {"args":[...],"env":{...},"cwd":"...","home":"..."}; the
// process environment becomes exactly `env` plus HOME=home (as the one-shot probe's environment
// is), the working directory `cwd`, both through Node's own API (process.env, process.chdir), and
// the SDK's own modules are loaded afresh (nodeWarm.forgetPackage) before the case's Camunda8
// object reads them. Requests are served one at a time; the process ends when stdin closes. What
// the SDK's dependencies and Node read once per process (GRPC_* when grpc-js loads,
// NODE_EXTRA_CA_CERTS, NODE_OPTIONS, DEBUG) the harness never sends here: those cases run cold.
function serve() {
  const readline = require('readline');
  const sdkManifest = require.resolve('@camunda8/sdk/package.json');
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  const queue = [];
  let busy = false;
  const next = () => {
    if (busy || queue.length === 0) return;
    busy = true;
    const raw = queue.shift();
    let req;
    try {
      req = JSON.parse(raw);
      if (!Array.isArray(req.args)) throw new Error('request without "args"');
      for (const key of Object.keys(process.env)) delete process.env[key];
      for (const [k, v] of Object.entries(req.env || {})) process.env[k] = String(v);
      if (req.home) process.env.HOME = String(req.home);
      if (req.cwd) process.chdir(String(req.cwd));
    } catch (e) {
      process.stdout.write(JSON.stringify({ ok: false, stage: 'serve', error: String(e && e.message), chain: [] }) + '\n');
      busy = false;
      setImmediate(next);
      return;
    }
    libraryLog.length = 0;
    nodeWarm.forgetPackage(sdkManifest);
    runCase(req.args)
      .then(async ({ obj, code, zbc }) => {
        obj.exit = code;
        // The answer's `log` is the case's own: the client's closing below may write more.
        const clean = await endCase(zbc);
        if (!clean) obj.last = true;
        return obj;
      })
      .then((obj) => {
        if (obj.last) {
          process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(obj.exit));
          setTimeout(() => process.exit(obj.exit), 2000).unref();
          return;
        }
        process.stdout.write(JSON.stringify(obj) + '\n', () => {
          busy = false;
          next();
        });
      });
  };
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    queue.push(line);
    next();
  });
  rl.on('close', () => process.exit(0));
  // Ready: the SDK is loaded (its dependencies stay loaded; its own modules load per case).
  require('@camunda8/sdk');
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
}

process.on('unhandledRejection', (e) => {
  // The SDK builds its gRPC client in a promise (this.grpc); a rejection there may also surface
  // unhandled. Log it; the call's own rejection is what the JSON line reports.
  rawError('probe: unhandled rejection:', e && e.message ? e.message : e);
});

if (process.argv[2] === '--serve') {
  serve();
} else {
  main();
}
