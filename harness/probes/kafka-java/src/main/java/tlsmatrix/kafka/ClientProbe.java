package tlsmatrix.kafka;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Java kafka-clients probe: describeCluster, then optionally produce N records and consume them back.
 * Prints exactly one JSON line on stdout and exits 0 (ok) or 1 (error); 2 for bad arguments.
 *
 * <p>With {@code --serve} (warm) the probe stays up and reads one JSON request per line on stdin,
 * {@code {"args":[...],"env":{...},"cwd":"...","home":"..."}}, and answers each with the line the
 * one-shot probe prints plus {@code "exit":N}. Each request builds fresh clients from the
 * request's arguments alone (kafka-clients reads no environment variable; its configuration is
 * the Properties built here). Relative paths are opened against the JVM's working directory,
 * which is fixed at start: the harness fills the warm process's own working directory with
 * symbolic links to the case directory's entries before each request, so a relative
 * {@code ssl.truststore.location} names the same file by the same text. A case whose clients did
 * not close within their bound, or whose deadline fired, leaves threads behind: the answer then
 * carries {@code "last":true} and the process exits after it (the harness starts a fresh one).
 *
 *   --bootstrap HOST:PORT  --security-protocol PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL
 *   [--sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512] [--username U --password P]
 *   [--ca-pem FILE] [--no-hostname-verification] [--topic T] [--produce N] [--consume N]
 *   [--timeout-ms MS] [--prop key=value]... [--log-level WARN]
 */
public final class ClientProbe {
    private static final PrintStream OUT = System.out;
    /** Serialises answers: the watchdog's and the case's (first one wins). */
    private static final Object ANSWER = new Object();

    /** The one JSON line of this case; the first {@link #finish} wins. */
    private final AtomicBoolean done = new AtomicBoolean(false);
    private volatile String stage = "init";
    private volatile boolean lastOk = false;
    /** Warm mode: the answer's suffix ({@code ,"exit":N}) and whether the process ends after it. */
    private final boolean warm;
    private volatile boolean clean = true;

    private ClientProbe(boolean warm) {
        this.warm = warm;
    }

    public static void main(String[] argv) {
        // Nothing but our JSON line goes to stdout, whatever a library might print.
        System.setOut(System.err);
        if (argv.length == 1 && "--serve".equals(argv[0])) {
            serve();
            System.exit(0);
            return;
        }
        ClientProbe probe = new ClientProbe(false);
        int code = probe.runCase(argv);
        System.exit(code);
    }

    /** Warm mode: one request per stdin line, one answer each, until stdin closes. */
    private static void serve() {
        Common.configureLogging("WARN");
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        String home = System.getProperty("user.home");
        synchronized (ANSWER) {
            OUT.println("{\"ready\":true}");
            OUT.flush();
        }
        try (java.io.BufferedReader in = new java.io.BufferedReader(
                new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))) {
            for (String raw = in.readLine(); raw != null; raw = in.readLine()) {
                if (raw.isBlank()) continue;
                List<String> args = new ArrayList<>();
                ClientProbe probe = new ClientProbe(true);
                try {
                    com.fasterxml.jackson.databind.JsonNode request = mapper.readTree(raw);
                    request.path("args").forEach(x -> args.add(x.asText()));
                    String caseHome = request.path("home").asText(null);
                    if (caseHome != null) System.setProperty("user.home", caseHome);
                } catch (Exception e) {
                    probe.finish(false, 0, 0, 0, "tlsmatrix.BadRequest: " + e, 2);
                    continue;
                }
                Common.resetCaptured();
                probe.runCase(args.toArray(new String[0]));
                System.setProperty("user.home", home);
                if (!probe.clean) {
                    System.exit(0);
                }
            }
        } catch (java.io.IOException e) {
            System.err.println("ClientProbe --serve: stdin: " + e);
        }
    }

    /** Runs one case and returns the one-shot probe's exit code. */
    private int runCase(String[] argv) {
        Map<String, List<String>> a;
        try {
            a = parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("usage: ClientProbe --bootstrap HOST:PORT --security-protocol PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL"
                    + " [--sasl-mechanism PLAIN] [--username U --password P] [--ca-pem FILE] [--no-hostname-verification]"
                    + " [--topic T] [--produce N] [--consume N] [--timeout-ms MS] [--prop k=v]... [--log-level LEVEL]");
            finish(false, 0, 0, 0, "java.lang.IllegalArgumentException: " + e.getMessage(), 2);
            return 2;
        }
        if (!warm) Common.configureLogging(one(a, "log-level", "WARN"));
        long timeoutMs = Long.parseLong(one(a, "timeout-ms", "10000"));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);

        // Watchdog: whatever blocks, we answer within timeout + 2 s.
        Thread dog = new Thread(() -> {
            try {
                Thread.sleep(timeoutMs + 2000);
            } catch (InterruptedException e) {
                return;
            }
            clean = false;
            finish(false, 0, 0, 0, "tlsmatrix.Deadline: no answer within " + timeoutMs + " ms (stage " + stage + ")", 1);
            // A warm case may have settled its line before the deadline and
            // still be closing its clients: that line is the answer.
            answer();
            Runtime.getRuntime().halt(1);
        }, "tlsmatrix-watchdog");
        dog.setDaemon(true);
        dog.start();

        int brokers = 0, produced = 0, consumed = 0;
        Admin admin = null;
        KafkaProducer<String, String> producer = null;
        KafkaConsumer<String, String> consumer = null;
        try {
            Properties common = commonProps(a, timeoutMs);
            String topic = one(a, "topic", "tlsmatrix-probe");
            int nProduce = Integer.parseInt(one(a, "produce", "0"));
            int nConsume = Integer.parseInt(one(a, "consume", "0"));

            stage = "describeCluster";
            Properties ap = new Properties();
            ap.putAll(common);
            admin = Admin.create(ap);
            // The admin's own timeout fires first (its message says what it was waiting for);
            // the get() bound and the watchdog are only backstops.
            Collection<Node> nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) remaining(deadline)))
                    .nodes().get(remaining(deadline) + 1000, TimeUnit.MILLISECONDS);
            brokers = nodes.size();

            String run = UUID.randomUUID().toString();
            Map<Integer, Long> firstOffset = new HashMap<>();
            if (nProduce > 0) {
                stage = "produce";
                Properties pp = new Properties();
                pp.putAll(common);
                pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
                pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
                pp.put(ProducerConfig.ACKS_CONFIG, "all");
                pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false"); // no InitProducerId needed
                pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");
                pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(remaining(deadline)));
                pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(remaining(deadline), 1000)));
                pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(remaining(deadline), 1000)));
                overlay(pp, a, "producer.");
                producer = new KafkaProducer<>(pp);
                List<Future<RecordMetadata>> fs = new ArrayList<>();
                for (int i = 0; i < nProduce; i++) {
                    fs.add(producer.send(new ProducerRecord<>(topic, "k" + i, "tlsmatrix-" + run + "-" + i)));
                }
                producer.flush();
                for (Future<RecordMetadata> f : fs) {
                    RecordMetadata md = f.get(remaining(deadline) + 1000, TimeUnit.MILLISECONDS);
                    firstOffset.merge(md.partition(), md.offset(), Math::min);
                    produced++;
                }
            }

            if (nConsume > 0) {
                stage = "consume";
                Properties cp = new Properties();
                cp.putAll(common);
                cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
                cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
                cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"); // no group: assign + seek
                cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
                cp.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
                overlay(cp, a, "consumer.");
                consumer = new KafkaConsumer<>(cp);
                List<PartitionInfo> parts = consumer.partitionsFor(topic, Duration.ofMillis(remaining(deadline)));
                if (parts == null || parts.isEmpty()) {
                    throw new IllegalStateException("topic " + topic + " has no partitions");
                }
                List<TopicPartition> tps = new ArrayList<>();
                for (PartitionInfo p : parts) tps.add(new TopicPartition(topic, p.partition()));
                consumer.assign(tps);
                if (firstOffset.isEmpty()) {
                    consumer.seekToBeginning(tps);
                } else {
                    for (TopicPartition tp : tps) {
                        Long off = firstOffset.get(tp.partition());
                        if (off != null) consumer.seek(tp, off);
                        else consumer.seekToEnd(List.of(tp));
                    }
                }
                String mine = "tlsmatrix-" + run + "-";
                while (consumed < nConsume) {
                    long rem = remaining(deadline);
                    if (rem <= 0) {
                        throw new org.apache.kafka.common.errors.TimeoutException(
                                "consumed " + consumed + " of " + nConsume + " records before the deadline");
                    }
                    ConsumerRecords<String, String> recs = consumer.poll(Duration.ofMillis(Math.min(rem, 500)));
                    for (ConsumerRecord<String, String> r : recs) {
                        if (nProduce == 0 || (r.value() != null && r.value().startsWith(mine))) consumed++;
                    }
                }
                if (consumed > nConsume) consumed = nConsume;
            }
            stage = "done";
            finish(true, brokers, produced, consumed, null, 0);
        } catch (Throwable t) {
            String err = Common.chain(t);
            if (err.contains("thread has exited")) {
                // the dying thread's uncaught-exception handler runs just after the future failed
                for (int i = 0; i < 20 && Common.uncaughtInKafkaThread() == null; i++) sleep(25);
            }
            String died = Common.uncaughtInKafkaThread();
            if (died != null) err += "; " + died;
            finish(false, brokers, produced, consumed, err, 1);
        } finally {
            if (warm) {
                // The answer waits for the clients' close: a warm process is
                // reused only when they are gone.
                clean &= closeQuietly(producer) & closeQuietly(consumer) & closeQuietly(admin);
                clean &= noClientThreads();
                answer();
            } else {
                closeQuietly(producer);
                closeQuietly(consumer);
                closeQuietly(admin);
            }
            dog.interrupt();
        }
        return done.get() && lastOk ? 0 : 1;
    }

    /** No Kafka client thread is still alive (they end in close()). */
    private static boolean noClientThreads() {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && (t.getName().contains("tlsmatrix-kafka-probe") || t.getName().startsWith("kafka-"))) {
                return false;
            }
        }
        return true;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes a client within 500 ms; false when that failed. */
    private static boolean closeQuietly(Object c) {
        if (c == null) return true;
        try {
            if (c instanceof Admin) ((Admin) c).close(Duration.ofMillis(500));
            else if (c instanceof KafkaProducer) ((KafkaProducer<?, ?>) c).close(Duration.ofMillis(500));
            else if (c instanceof KafkaConsumer) ((KafkaConsumer<?, ?>) c).close(Duration.ofMillis(500));
            return true;
        } catch (Throwable ignored) {
            // closing is best effort; the answer is already printed (one-shot)
            return false;
        }
    }

    /** The case's JSON line, set once. */
    private volatile String line;
    private volatile int exitCode;

    /**
     * Settles the case's JSON line (first caller wins). The one-shot probe prints it at once; a
     * warm one prints it when the case's clients are closed ({@link #answer}), or at once from
     * the watchdog and for a bad request.
     */
    private void finish(boolean ok, int brokers, int produced, int consumed, String error, int exit) {
        if (!done.compareAndSet(false, true)) return;
        lastOk = ok;
        String text;
        if (ok) {
            text = "{\"ok\":true,\"brokers\":" + brokers + ",\"produced\":" + produced + ",\"consumed\":" + consumed + "}";
        } else {
            String w = Common.lastNetworkWarning();
            text = "{\"ok\":false,\"stage\":" + Common.json(stage) + ",\"error\":" + Common.json(error)
                    + (w == null ? "" : ",\"warning\":" + Common.json(w)) + "}";
        }
        line = text;
        exitCode = exit;
        if (!warm || exit == 2 || !clean) answer();
    }

    /** Prints the settled line (warm: with its exit code, and "last" when the process ends). */
    private void answer() {
        String text = line;
        if (text == null) return;
        synchronized (ANSWER) {
            if (warm) {
                text = text.substring(0, text.length() - 1) + ",\"exit\":" + exitCode
                        + (clean ? "" : ",\"last\":true") + "}";
            }
            OUT.println(text);
            OUT.flush();
            line = null;
        }
    }

    private static long remaining(long deadline) {
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    private static Properties commonProps(Map<String, List<String>> a, long timeoutMs) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, need(a, "bootstrap"));
        String proto = one(a, "security-protocol", "PLAINTEXT").toUpperCase();
        p.put(AdminClientConfig.SECURITY_PROTOCOL_CONFIG, proto);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "tlsmatrix-kafka-probe");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs));
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(timeoutMs));
        p.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, String.valueOf(Math.min(timeoutMs, 5000)));
        p.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, String.valueOf(Math.min(timeoutMs, 10000)));
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");
        p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        if (proto.startsWith("SASL_")) {
            String mech = one(a, "sasl-mechanism", "PLAIN").toUpperCase();
            p.put("sasl.mechanism", mech);
            String module = mech.startsWith("SCRAM-")
                    ? "org.apache.kafka.common.security.scram.ScramLoginModule"
                    : "org.apache.kafka.common.security.plain.PlainLoginModule";
            p.put("sasl.jaas.config", module + " required username=" + Common.jaasQuote(one(a, "username", ""))
                    + " password=" + Common.jaasQuote(one(a, "password", "")) + ";");
        }
        String ca = one(a, "ca-pem", null);
        if (ca != null) {
            p.put("ssl.truststore.type", "PEM");
            p.put("ssl.truststore.location", ca);
        }
        if (a.containsKey("no-hostname-verification")) {
            p.put("ssl.endpoint.identification.algorithm", "");
        }
        overlay(p, a, null);
        return p;
    }

    /** --prop k=v (all clients), --prop producer.k=v / consumer.k=v (one client only). */
    private static void overlay(Properties p, Map<String, List<String>> a, String prefix) {
        for (String kv : a.getOrDefault("prop", List.of())) {
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--prop needs key=value: " + kv);
            String k = kv.substring(0, eq), v = kv.substring(eq + 1);
            boolean scoped = k.startsWith("producer.") || k.startsWith("consumer.");
            if (prefix == null && !scoped) p.put(k, v);
            else if (prefix != null && k.startsWith(prefix)) p.put(k.substring(prefix.length()), v);
        }
    }

    private static final java.util.Set<String> FLAGS = java.util.Set.of("no-hostname-verification");

    static Map<String, List<String>> parse(String[] argv) {
        Map<String, List<String>> m = new HashMap<>();
        for (int i = 0; i < argv.length; i++) {
            String k = argv[i];
            if (!k.startsWith("--")) throw new IllegalArgumentException("unexpected argument " + k);
            k = k.substring(2);
            String v;
            int eq = k.indexOf('=');
            if (eq > 0 && !k.startsWith("prop")) {
                v = k.substring(eq + 1);
                k = k.substring(0, eq);
            } else if (FLAGS.contains(k)) {
                v = "true";
            } else {
                if (i + 1 >= argv.length) throw new IllegalArgumentException("--" + k + " needs a value");
                v = argv[++i];
            }
            m.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        if (!m.containsKey("bootstrap")) throw new IllegalArgumentException("--bootstrap is required");
        return m;
    }

    static String one(Map<String, List<String>> a, String k, String dflt) {
        List<String> v = a.get(k);
        return v == null || v.isEmpty() ? dflt : v.get(v.size() - 1);
    }

    static String need(Map<String, List<String>> a, String k) {
        String v = one(a, k, null);
        if (v == null) throw new IllegalArgumentException("--" + k + " is required");
        return v;
    }
}
