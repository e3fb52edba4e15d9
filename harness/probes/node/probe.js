#!/usr/bin/env node
// tlsmatrix client probe for the zeebe-node client (pinned in package.json).
//
//   node probe.js --address HOST:PORT [--plaintext] [--ca PATH] [--timeout-ms 5000]
//   node probe.js --serve      (warm: one JSON request per line on stdin, one result line each)
//
// Sends ONE Topology request through ZBClient and prints exactly one JSON line on stdout:
//   {"ok":true,"brokers":N,"gateway_version":"..."}                                   exit 0
//   {"ok":false,"stage":"...","error":"...","code":N|null,"details":"..."|null,"chain":[...]} exit 1
// All library logging goes to stderr. Environment variables are left to zeebe-node (see README).
'use strict';

const nodeWarm = require('../node-warm.js');

// zeebe-node (dist/lib/GrpcClient.js) and its JSON logger call console.log for some messages.
// stdout is reserved for our single JSON line, so route every console method to stderr.
for (const m of ['log', 'info', 'debug', 'warn', 'trace']) {
  console[m] = console.error.bind(console);
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

// One case: parse its arguments, make a fresh ZBClient, call Topology once. Resolves to
// { line, code }: the JSON result and the exit code the one-shot probe ends with. With
// `answerFirst` (warm mode) a connected client's answer is given before its close() ends:
// the answer is complete once Topology returned, and close() waits out grpc-js's channel
// shutdown (up to its 500 ms bound), which is wall time a case should not pay. The
// one-shot probe closes first, then answers and exits, as before.
function runCase(argv, answerFirst = false) {
  return new Promise((resolve) => {
    let zbc;
    let settled = false;
    const finish = (obj, code) => {
      if (settled) return;
      settled = true;
      resolve({ line: JSON.stringify(obj), code, client: zbc });
    };
    const fail = (stage, err) => {
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
    };

    let args;
    try {
      args = parseArgs(argv);
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

    function closeQuietly() {
      // ZBClient.close() can hang (GrpcClient.close waits up to `timeout`), so bound it.
      return Promise.race([
        Promise.resolve()
          .then(() => zbc.close(500))
          .catch((e) => console.error('probe: close failed:', e && e.message)),
        new Promise((r) => setTimeout(r, 500).unref()),
      ]);
    }

    const timer = setTimeout(() => {
      const e = new Error(`probe timeout: topology did not complete within ${args.timeoutMs} ms`);
      fail('timeout', e);
      // The one-shot probe exits here; a warm one closes the abandoned client.
      closeQuietly();
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
        if (answerFirst) {
          finish(result, 0);
          return closeQuietly();
        }
        return closeQuietly().then(() => finish(result, 0));
      })
      .catch((e) => {
        clearTimeout(timer);
        return closeQuietly().then(() => fail('topology', e));
      });
  });
}

// Retires a closed client that did not connect (see `retire` in ../node-warm.js: grpc-js 1.9.7
// restarts a closed channel's load balancer and re-resolves an IP literal in a busy loop). Returns
// whether nothing of it is left; otherwise the process ends after the answer.
function retire(zbc) {
  const grpcClient = zbc && zbc.grpc && zbc.grpc.client;
  if (!grpcClient) return zbc === undefined;
  return nodeWarm.retire(grpcClient);
}

// zeebe-node's own modules (its package's files, not its dependencies) are loaded afresh for
// each warm case after the case's environment and home are set (nodeWarm.forgetPackage), so what
// zeebe-node reads when it loads (OAuthProvider's os.homedir(), its token cache directory) is read
// from the case's environment, as in a process of the case's own; it costs about 8 ms (measured:
// 30 modules, 7-14 ms of CPU). grpc-js stays loaded: what it reads at load (GRPC_*) makes a case
// run cold (see `warm::temperature`).
//
// Warm mode. Each request line is {"args":[...],"env":{...},"cwd":"...","home":"..."}; the
// process environment becomes exactly `env` plus HOME=home (as the one-shot probe's
// environment is), the working directory `cwd`, both through Node's own API (process.env,
// process.chdir) before the case's fresh ZBClient reads them. Requests are served one at a
// time; the process ends when stdin closes. What grpc-js and Node read only once per process
// (GRPC_* when grpc-js loads, NODE_EXTRA_CA_CERTS, NODE_OPTIONS) the harness never sends here:
// those cases run cold.
function serve() {
  const readline = require('readline');
  const zeebeNodeManifest = require.resolve('zeebe-node/package.json');
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
    nodeWarm.forgetPackage(zeebeNodeManifest);
    runCase(req.args, true).then(({ line, code, client }) => {
      const out = JSON.parse(line);
      out.exit = code;
      // A client that did not connect is retired before its answer (see
      // `retire`); when anything of it is left, this process ends after the
      // answer (`"last":true`), as the one-shot probe does, and the harness
      // starts a fresh one for the next case.
      const clean = out.ok || retire(client);
      if (!clean) {
        out.last = true;
        process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(code));
        setTimeout(() => process.exit(code), 2000).unref();
        return;
      }
      process.stdout.write(JSON.stringify(out) + '\n', () => {
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
  // Ready: zeebe-node is loaded before the first request.
  require('zeebe-node');
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
}

process.on('unhandledRejection', (e) => {
  // zeebe-node can leave rejected promises behind (e.g. GrpcClient.close "Didn't close in time").
  console.error('probe: unhandled rejection:', e && e.message ? e.message : e);
});

if (process.argv[2] === '--serve') {
  serve();
} else {
  runCase(process.argv.slice(2)).then(({ line, code }) => {
    // Exit from the write callback so the line is flushed even when stdout is a pipe.
    // process.exit also drops the client's leftover timers (waitForReady(10000), close timeout).
    process.stdout.write(line + '\n', () => process.exit(code));
    setTimeout(() => process.exit(code), 2000).unref();
  });
}
