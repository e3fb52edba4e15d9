// What the warm (`--serve`) Node probes share (harness/probes/node, harness/probes/camunda-sdk):
// loading a library's own modules afresh for a case, and retiring a closed grpc-js client.
'use strict';

const path = require('path');

// Deletes from Node's module cache (`require.cache`, documented: a deleted entry is evaluated
// again by the next require) every module of the package whose package.json is `manifest` (the
// caller's require.resolve('NAME/package.json')), not of its dependencies, so the next require of
// it loads it afresh: what it reads when it loads (process.env, os.homedir()) is then read from
// the case's environment, as in a process of the case's own.
function forgetPackage(manifest) {
  const root = path.dirname(manifest) + path.sep;
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(root) && !key.slice(root.length).includes('node_modules')) {
      delete require.cache[key];
    }
  }
}

// Retires a closed grpc-js client (`grpc.Client`) so the process can serve the next case.
// grpc-js does not stay closed (measured with 1.9.7 and 1.14.7): the waitForReady(...) the
// Zeebe clients start on every client calls getConnectivityState(true) on the closed channel,
// which restarts its resolving load balancer, and the channel connects to the case's gateway
// again after its backoff (1.9.7 also re-resolves an IP literal in a busy loop: a core for up to
// 10 s). A one-shot probe exits right after its answer, which ends that. Here the closed
// channel's load balancer is made inert (shut down and never re-entered), then the process-wide
// subchannel pool is pruned. Nothing of the case's answer depends on it: the client is closed.
// Returns whether nothing of the client is left in the pool (no subchannel under its target);
// otherwise the caller ends its process after the answer.
function retire(grpcClient) {
  try {
    const channel = grpcClient.getChannel().internalChannel;
    const balancer = channel.resolvingLoadBalancer;
    const SHUTDOWN = 4; // grpc-js ConnectivityState.SHUTDOWN
    channel.getConnectivityState = () => SHUTDOWN;
    balancer.updateResolution = () => {};
    balancer.exitIdle = () => {};
    balancer.childLoadBalancer.updateAddressList = () => {};
    balancer.childLoadBalancer.exitIdle = () => {};
    balancer.destroy();
    channel.updateState(SHUTDOWN);
    channel.subchannelPool.unrefUnusedSubchannels();
    const left = (channel.subchannelPool.pool || {})[channel.getTarget()] || [];
    return left.length === 0;
  } catch (e) {
    console.error('probe: could not retire the client:', e && e.message);
    return false;
  }
}

module.exports = { forgetPackage, retire };
