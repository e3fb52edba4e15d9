package tlsmatrix.probe;

import java.util.logging.LogManager;

/**
 * A LogManager that ignores the reset the JVM's own shutdown hook performs, so that what Netty
 * and grpc-java log while the oracle's shutdown hook drains the server (a transport that failed a
 * moment before SIGTERM, say) still reaches stderr. Selected with
 * {@code -Djava.util.logging.manager=tlsmatrix.probe.KeepLogsLogManager}.
 */
public final class KeepLogsLogManager extends LogManager {

  private static volatile boolean frozen;

  /** Called once logging is configured: later resets (at JVM shutdown) are ignored. */
  static void freeze() {
    frozen = true;
  }

  @Override
  public void reset() {
    if (!frozen) {
      super.reset();
    }
  }
}
