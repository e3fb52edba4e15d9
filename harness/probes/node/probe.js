#!/usr/bin/env node
// tlsmatrix client probe for the zeebe-node client (pinned in package.json).
//
//   node probe.js --address HOST:PORT [--plaintext] [--ca PATH] [--timeout-ms 5000]
//
// Sends ONE Topology request through ZBClient and prints exactly one JSON line on stdout:
//   {"ok":true,"brokers":N,"gateway_version":"..."}                                   exit 0
//   {"ok":false,"stage":"...","error":"...","code":N|null,"details":"..."|null,"chain":[...]} exit 1
// All library logging goes to stderr. Environment variables are left to zeebe-node (see README).
'use strict';

// zeebe-node (dist/lib/GrpcClient.js) and its JSON logger call console.log for some messages.
// stdout is reserved for our single JSON line, so route every console method to stderr.
for (const m of ['log', 'info', 'debug', 'warn', 'trace']) {
  console[m] = console.error.bind(console);
}

let done = false;
function finish(obj, exitCode) {
  if (done) return;
  done = true;
  // Exit from the write callback so the line is flushed even when stdout is a pipe.
  // process.exit also drops the client's leftover timers (waitForReady(10000), close timeout).
  process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(exitCode));
  setTimeout(() => process.exit(exitCode), 2000).unref();
}

function fail(stage, err) {
  const chain = [];
  const seen = new Set();
  for (let e = err; e != null && !seen.has(e) && chain.length < 20; e = e.cause) {
    seen.add(e);
    chain.push(e instanceof Error || (e && typeof e.message === 'string') ? String(e.message) : String(e));
  }
  finish(
    {
      ok: false,
      stage,
      error: err && typeof err.message === 'string' ? err.message : String(err),
      code: err && typeof err.code === 'number' ? err.code : null,
      details: err && typeof err.details === 'string' ? err.details : null,
      chain,
    },
    1
  );
}

function parseArgs(argv) {
  const a = { address: undefined, plaintext: false, ca: undefined, timeoutMs: 5000 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const need = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${k}`);
      return argv[++i];
    };
    if (k === '--address') a.address = need();
    else if (k === '--plaintext') a.plaintext = true;
    else if (k === '--ca') a.ca = need();
    else if (k === '--timeout-ms') {
      const v = need();
      a.timeoutMs = Number(v);
      if (!Number.isInteger(a.timeoutMs) || a.timeoutMs <= 0) throw new Error(`bad --timeout-ms: ${v}`);
    } else throw new Error(`unknown argument: ${k}`);
  }
  if (!a.address) throw new Error('--address HOST:PORT is required');
  return a;
}

process.on('unhandledRejection', (e) => {
  // zeebe-node can leave rejected promises behind (e.g. GrpcClient.close "Didn't close in time").
  console.error('probe: unhandled rejection:', e && e.message ? e.message : e);
});

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  fail('usage', e);
  return;
}

// Log sink with the shape ZBLogger expects for `stdout` (info/error); everything to stderr.
const stderrLogger = {
  info: (...m) => console.error(...m),
  error: (...m) => console.error(...m),
  debug: (...m) => console.error(...m),
};

let zbc;
try {
  const fs = require('fs');
  const { ZBClient } = require('zeebe-node');
  const options = {
    useTLS: !args.plaintext,
    // One attempt only: with retry:false, ZBClient.executeOperation calls the RPC directly
    // (no promise-retry loop). The env var ZEEBE_CLIENT_RETRY cannot turn it back on.
    retry: false,
    maxRetries: 0,
    maxRetryTimeout: 1000,
    connectionTolerance: 1000,
    eagerConnection: false,
    loglevel: 'ERROR',
    stdout: stderrLogger,
  };
  // Only pass customSSL when --ca is given: a constructor customSSL object replaces the
  // whole env-derived one (ZEEBE_CLIENT_SSL_*), see README.
  if (args.ca) options.customSSL = { rootCerts: fs.readFileSync(args.ca) };
  zbc = new ZBClient(args.address, options);
} catch (e) {
  fail('new-client', e);
  return;
}

const timer = setTimeout(() => {
  const e = new Error(`probe timeout: topology did not complete within ${args.timeoutMs} ms`);
  fail('timeout', e);
}, args.timeoutMs);

zbc
  .topology()
  .then((t) => {
    clearTimeout(timer);
    const result = {
      ok: true,
      brokers: Array.isArray(t && t.brokers) ? t.brokers.length : 0,
      gateway_version: t && t.gatewayVersion != null ? String(t.gatewayVersion) : '',
    };
    return closeQuietly().then(() => finish(result, 0));
  })
  .catch((e) => {
    clearTimeout(timer);
    return closeQuietly().then(() => fail('topology', e));
  });

function closeQuietly() {
  // ZBClient.close() can hang (GrpcClient.close waits up to `timeout`), so bound it.
  return Promise.race([
    Promise.resolve()
      .then(() => zbc.close(500))
      .catch((e) => console.error('probe: close failed:', e && e.message)),
    new Promise((r) => setTimeout(r, 500).unref()),
  ]);
}
