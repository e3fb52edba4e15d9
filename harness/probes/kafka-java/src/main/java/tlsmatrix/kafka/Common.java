package tlsmatrix.kafka;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import org.apache.log4j.ConsoleAppender;
import org.apache.log4j.Level;
import org.apache.log4j.LogManager;
import org.apache.log4j.Logger;
import org.apache.log4j.PatternLayout;

/** Helpers shared by ClientProbe and Broker: logging to stderr, error chains, JSON strings. */
final class Common {
    private Common() {}

    /**
     * Configures log4j 1 (reload4j, which is what Kafka 3.8 logs through via slf4j) by code:
     * one console appender on System.err, root logger at the given level. stdout stays clean.
     */
    static void configureLogging(String level) {
        Logger root = LogManager.getRootLogger();
        root.removeAllAppenders();
        ConsoleAppender app = new ConsoleAppender(
                new PatternLayout("[%d{HH:mm:ss,SSS}] %p %c{1}: %m%n"), ConsoleAppender.SYSTEM_ERR);
        root.addAppender(app);
        root.setLevel(Level.toLevel(level, Level.WARN));
        // KafkaThread logs "Uncaught exception in thread '...':" with the throwable when a client's
        // I/O thread dies (e.g. OutOfMemoryError when a PLAINTEXT client reads a TLS record header
        // as a 352518912-byte frame size). Remember it so the probe's error can say why.
        LogManager.getLogger("org.apache.kafka.clients.NetworkClient").addAppender(new org.apache.log4j.AppenderSkeleton() {
            @Override protected void append(org.apache.log4j.spi.LoggingEvent e) {
                if (e.getLevel().isGreaterOrEqual(Level.WARN)) lastNetworkWarning = e.getRenderedMessage();
            }
            @Override public void close() {}
            @Override public boolean requiresLayout() { return false; }
        });
        Logger kt = LogManager.getLogger("org.apache.kafka.common.utils.KafkaThread");
        kt.addAppender(new org.apache.log4j.AppenderSkeleton() {
            @Override protected void append(org.apache.log4j.spi.LoggingEvent e) {
                if (e.getThrowableInformation() != null && uncaught == null) {
                    Throwable t = e.getThrowableInformation().getThrowable();
                    uncaught = "uncaught in " + e.getThreadName() + ": " + t.getClass().getName()
                            + (t.getMessage() == null ? "" : ": " + t.getMessage());
                }
            }
            @Override public void close() {}
            @Override public boolean requiresLayout() { return false; }
        });
    }

    private static volatile String uncaught;
    private static volatile String lastNetworkWarning;

    /**
     * Forgets what the appenders captured: a warm ClientProbe calls it before each case, whose
     * clients are the only ones alive (the previous case's closed, or its process ended).
     */
    static void resetCaptured() {
        uncaught = null;
        lastNetworkWarning = null;
    }

    /** The last WARN/ERROR message of org.apache.kafka.clients.NetworkClient (connection-level hints), or null. */
    static String lastNetworkWarning() {
        return lastNetworkWarning;
    }

    /** "uncaught in THREAD: class: message" for the first Kafka I/O thread that died, else null. */
    static String uncaughtInKafkaThread() {
        return uncaught;
    }

    /** Strips ExecutionException / CompletionException wrappers that only carry the real cause. */
    static Throwable unwrap(Throwable t) {
        while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** "class: message; caused by class: message; ..." for the (unwrapped) exception chain. */
    static String chain(Throwable t) {
        StringBuilder sb = new StringBuilder();
        Throwable cur = unwrap(t);
        int depth = 0;
        while (cur != null && depth < 12) {
            if (depth > 0) sb.append("; caused by ");
            sb.append(cur.getClass().getName());
            if (cur.getMessage() != null) sb.append(": ").append(cur.getMessage());
            Throwable next = cur.getCause();
            if (next == cur) break;
            cur = next;
            depth++;
        }
        return sb.toString();
    }

    static String json(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    static String readFile(String path) throws IOException {
        return Files.readString(Path.of(path), StandardCharsets.UTF_8);
    }

    /** Value for a sasl.jaas.config option: double-quoted, with \ and " escaped. */
    static String jaasQuote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
