package tlsmatrix.kafka;

import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

/**
 * One real Apache Kafka broker in KRaft combined mode (process.roles=broker,controller, node.id=1).
 *
 *   --dir D                         work dir (created; server.properties + data/ inside; formatted once)
 *   --listener NAME://HOST:PORT     repeatable; PORT 0 = a free port chosen here (default CLIENT://127.0.0.1:0)
 *   --security PROTO | NAME=PROTO,...   PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL (default PLAINTEXT). A listener
 *                                   whose NAME is itself a protocol name gets that protocol.
 *   --users user:pass,...           PLAIN users for the SASL listeners
 *   --sasl-mechanisms PLAIN         enabled mechanisms on SASL listeners (only PLAIN has users here)
 *   --cert-pem FILE --key-pem FILE  server certificate chain + PKCS#8 key (PEM) for SSL listeners
 *   [--key-password P]              when the PKCS#8 key is encrypted
 *   [--client-ca-pem FILE]          require client certificates signed by this CA (ssl.client.auth=required)
 *   [--prop key=value]...           extra broker properties
 *   [--log-level WARN] [--ready-timeout-ms 60000]
 *
 * Two more PLAINTEXT listeners are always added: INTERNAL (inter-broker; also used for the readiness
 * check) and CONTROLLER (KRaft quorum). On stdout, once an AdminClient describeCluster on INTERNAL sees
 * node 1 and every client listener accepts TCP:
 *   TLSMATRIX-READY 127.0.0.1:PORT NAME=127.0.0.1:PORT ... INTERNAL=127.0.0.1:PORT
 * (first token = the first --listener). Logs go to stderr. SIGTERM/SIGINT: clean shutdown, exit 0.
 * With --serve last (warm mode, see serve()) the ready line is JSON and requests come on stdin.
 * Start failure: "Broker: FAILED to start: <exception chain>" on stderr, exit 1; bad arguments: exit 2.
 */
public final class Broker {
    static final Set<String> PROTOCOLS = Set.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL");

    record Listener(String name, String host, int port, String protocol) {
        String hostPort() { return host + ":" + port; }
    }

    public static void main(String[] argv) throws Exception {
        PrintStream out = System.out;
        System.setOut(System.err); // StorageTool and friends print to stdout: keep ours clean
        // --serve (last, no value): warm mode, see serve().
        boolean serve = argv.length > 0 && argv[argv.length - 1].equals("--serve");
        if (serve) argv = java.util.Arrays.copyOf(argv, argv.length - 1);
        Map<String, List<String>> a;
        try {
            a = parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("Broker: " + e.getMessage());
            System.err.println("usage: Broker --dir D [--listener NAME://127.0.0.1:0]... [--security PROTO|NAME=PROTO,...]"
                    + " [--users u:p,...] [--sasl-mechanisms PLAIN] [--cert-pem F --key-pem F [--key-password P]]"
                    + " [--client-ca-pem F] [--prop k=v]... [--log-level WARN] [--ready-timeout-ms MS]");
            System.exit(2);
            return;
        }
        Common.configureLogging(ClientProbe.one(a, "log-level", "WARN"));
        long t0 = System.nanoTime();
        KafkaRaftServer server;
        List<Listener> listeners;
        Listener internal;
        try {
            Path dir = Path.of(ClientProbe.need(a, "dir")).toAbsolutePath();
            Files.createDirectories(dir);
            listeners = listeners(a);
            internal = new Listener("INTERNAL", "127.0.0.1", freePort(), "PLAINTEXT");
            Listener controller = new Listener("CONTROLLER", "127.0.0.1", freePort(), "PLAINTEXT");
            Properties props = brokerProps(a, dir, listeners, internal, controller);
            Path cfgFile = dir.resolve("server.properties");
            try (OutputStream os = new FileOutputStream(cfgFile.toFile())) {
                props.store(os, "tlsmatrix Broker (KRaft combined mode)");
            }
            if (!Files.exists(dir.resolve("data").resolve("meta.properties"))) {
                String clusterId = Uuid.randomUuid().toString();
                int rc = StorageTool.execute(new String[] {"format", "-t", clusterId, "-c", cfgFile.toString(), "--ignore-formatted"});
                if (rc != 0) throw new IllegalStateException("kafka-storage format exited " + rc);
            }
            server = new KafkaRaftServer(new KafkaConfig(props, false), Time.SYSTEM);
            final KafkaRaftServer s = server;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                System.err.println("Broker: shutting down");
                try {
                    s.shutdown();
                    s.awaitShutdown();
                } catch (Throwable t) {
                    System.err.println("Broker: shutdown error: " + Common.chain(t));
                }
                System.err.println("Broker: stopped");
                System.err.flush();
                Runtime.getRuntime().halt(0); // clean stop on SIGTERM/SIGINT = exit 0, not 143/130
            }, "tlsmatrix-broker-shutdown"));
            server.startup();
            awaitReady(internal, listeners, Long.parseLong(ClientProbe.one(a, "ready-timeout-ms", "60000")));
        } catch (Throwable t) {
            System.err.println("Broker: FAILED to start: " + Common.chain(t));
            Runtime.getRuntime().halt(1);
            return;
        }
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
        System.err.printf(Locale.ROOT, "Broker: ready %d ms after main(), %d ms after JVM start%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), System.currentTimeMillis() - jvmStart);
        StringBuilder line = new StringBuilder("TLSMATRIX-READY ").append(listeners.get(0).hostPort());
        for (Listener l : listeners) line.append(' ').append(l.name()).append('=').append(l.hostPort());
        line.append(" INTERNAL=").append(internal.hostPort());
        if (serve) {
            StringBuilder ready = new StringBuilder("{\"ready\":true,\"line\":\"").append(line).append("\"}");
            out.println(ready);
            out.flush();
            serve(out, internal);
            return;
        }
        out.println(line);
        out.flush();
        server.awaitShutdown();
    }

    /**
     * Warm mode (--serve): the ready line is {"ready":true,"line":"TLSMATRIX-READY ..."}; then each
     * line on stdin is a request "after a case": the answer, one line on stdout, comes after every
     * log line the broker wrote before it read the request (so the harness can take a case's log
     * lines), and says how many topics the broker holds (internal ones included):
     *   {"ok":true,"topics":N}  or  {"ok":false,"error":"..."}
     * A broker with a topic is not given to another case. End of stdin halts the JVM.
     */
    static void serve(PrintStream out, Listener internal) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, internal.hostPort());
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "tlsmatrix-broker-serve");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        try (Admin admin = Admin.create(p);
             java.io.BufferedReader in = new java.io.BufferedReader(
                     new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))) {
            for (String req = in.readLine(); req != null; req = in.readLine()) {
                String answer;
                try {
                    int topics = admin.listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true))
                            .names().get(10, TimeUnit.SECONDS).size();
                    answer = "{\"ok\":true,\"topics\":" + topics + "}";
                } catch (Exception e) {
                    answer = "{\"ok\":false,\"error\":\"" + Common.chain(e).replace("\\", "\\\\").replace("\"", "\\\"")
                            .replace("\n", " ") + "\"}";
                }
                System.err.flush();
                out.println(answer);
                out.flush();
            }
        }
        Runtime.getRuntime().halt(0);
    }

    static Properties brokerProps(Map<String, List<String>> a, Path dir, List<Listener> ls, Listener internal,
                                  Listener controller) throws Exception {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@" + controller.hostPort());
        p.put("controller.listener.names", controller.name());
        p.put("inter.broker.listener.name", internal.name());
        List<String> lsStr = new ArrayList<>(), adv = new ArrayList<>(), map = new ArrayList<>();
        for (Listener l : ls) {
            lsStr.add(l.name() + "://" + l.hostPort());
            adv.add(l.name() + "://" + l.hostPort());
            map.add(l.name() + ":" + l.protocol());
        }
        lsStr.add(internal.name() + "://" + internal.hostPort());
        adv.add(internal.name() + "://" + internal.hostPort());
        map.add(internal.name() + ":PLAINTEXT");
        lsStr.add(controller.name() + "://" + controller.hostPort());
        map.add(controller.name() + ":PLAINTEXT");
        p.put("listeners", String.join(",", lsStr));
        p.put("advertised.listeners", String.join(",", adv));
        p.put("listener.security.protocol.map", String.join(",", map));
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("num.partitions", "1");
        p.put("default.replication.factor", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "true");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        p.put("background.threads", "2");
        p.put("log.cleaner.threads", "1");
        p.put("num.recovery.threads.per.data.dir", "1");

        String mechs = ClientProbe.one(a, "sasl-mechanisms", "PLAIN");
        String users = ClientProbe.one(a, "users", "");
        String cert = ClientProbe.one(a, "cert-pem", null), key = ClientProbe.one(a, "key-pem", null);
        String clientCa = ClientProbe.one(a, "client-ca-pem", null);
        for (Listener l : ls) {
            String pre = "listener.name." + l.name().toLowerCase(Locale.ROOT) + ".";
            if (l.protocol().startsWith("SASL_")) {
                p.put(pre + "sasl.enabled.mechanisms", mechs);
                StringBuilder jaas = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required");
                for (String up : users.split(",")) {
                    if (up.isBlank()) continue;
                    int c = up.indexOf(':');
                    if (c <= 0) throw new IllegalArgumentException("--users wants user:pass,...: " + up);
                    jaas.append(" user_").append(up, 0, c).append('=').append(Common.jaasQuote(up.substring(c + 1)));
                }
                jaas.append(';');
                p.put(pre + "plain.sasl.jaas.config", jaas.toString());
            }
            if (l.protocol().endsWith("SSL")) {
                if (cert == null || key == null) {
                    throw new IllegalArgumentException("listener " + l.name() + " is " + l.protocol() + ": --cert-pem and --key-pem are required");
                }
                String keyPem = Common.readFile(key);
                if (keyPem.contains("BEGIN RSA PRIVATE KEY") || keyPem.contains("BEGIN EC PRIVATE KEY")) {
                    throw new IllegalArgumentException("--key-pem must be PKCS#8 (BEGIN PRIVATE KEY), Kafka's PEM store reads no PKCS#1/SEC1 keys;"
                            + " convert with: openssl pkcs8 -topk8 -nocrypt -in K -out K8");
                }
                p.put(pre + "ssl.keystore.type", "PEM");
                p.put(pre + "ssl.keystore.certificate.chain", Common.readFile(cert));
                p.put(pre + "ssl.keystore.key", keyPem);
                String kp = ClientProbe.one(a, "key-password", null);
                if (kp != null) p.put(pre + "ssl.key.password", kp);
                if (clientCa != null) {
                    p.put(pre + "ssl.truststore.type", "PEM");
                    p.put(pre + "ssl.truststore.certificates", Common.readFile(clientCa));
                    p.put(pre + "ssl.client.auth", "required");
                }
            }
        }
        for (String kv : a.getOrDefault("prop", List.of())) {
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--prop needs key=value: " + kv);
            p.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return p;
    }

    static List<Listener> listeners(Map<String, List<String>> a) throws Exception {
        List<String> specs = a.getOrDefault("listener", List.of("CLIENT://127.0.0.1:0"));
        String sec = ClientProbe.one(a, "security", "PLAINTEXT").toUpperCase(Locale.ROOT);
        Map<String, String> perName = new LinkedHashMap<>();
        String dflt = "PLAINTEXT";
        for (String part : sec.split(",")) {
            part = part.trim();
            if (part.isEmpty()) continue;
            int eq = part.indexOf('=');
            if (eq > 0) perName.put(part.substring(0, eq), part.substring(eq + 1));
            else dflt = part;
        }
        List<Listener> out = new ArrayList<>();
        for (String spec : specs) {
            for (String one : spec.split(",")) {
                int sep = one.indexOf("://");
                int colon = one.lastIndexOf(':');
                if (sep <= 0 || colon <= sep) throw new IllegalArgumentException("--listener wants NAME://HOST:PORT: " + one);
                String name = one.substring(0, sep).toUpperCase(Locale.ROOT);
                if (name.equals("INTERNAL") || name.equals("CONTROLLER")) {
                    throw new IllegalArgumentException("listener names INTERNAL and CONTROLLER are reserved");
                }
                String host = one.substring(sep + 3, colon);
                int port = Integer.parseInt(one.substring(colon + 1));
                if (port == 0) port = freePort();
                String proto = perName.getOrDefault(name, PROTOCOLS.contains(name) ? name : dflt);
                if (!PROTOCOLS.contains(proto)) throw new IllegalArgumentException("unknown security protocol " + proto);
                out.add(new Listener(name, host, port, proto));
            }
        }
        return out;
    }

    /**
     * Ports handed out so far: the kernel may give a port it just released again, and a broker
     * with two listeners on one port refuses to start (seen in CI: INTERNAL and CONTROLLER both got
     * the same port).
     */
    private static final java.util.Set<Integer> GIVEN = new java.util.HashSet<>();

    static synchronized int freePort() throws Exception {
        for (int attempt = 0; attempt < 100; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress("127.0.0.1", 0));
                port = s.getLocalPort();
            }
            if (GIVEN.add(port)) return port;
        }
        throw new IllegalStateException("no free port distinct from " + GIVEN);
    }

    /** Ready = describeCluster over INTERNAL lists node 1, and every client listener accepts TCP. */
    static void awaitReady(Listener internal, List<Listener> ls, long timeoutMs) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, internal.hostPort());
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "tlsmatrix-broker-ready");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "2000");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "20");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "100");
        p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "20");
        Throwable last = null;
        try (Admin admin = Admin.create(p)) {
            while (System.nanoTime() < deadline) {
                try {
                    Collection<Node> nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                            .nodes().get(3, TimeUnit.SECONDS);
                    if (nodes.stream().anyMatch(n -> n.id() == 1)) {
                        for (Listener l : ls) {
                            try (Socket s = new Socket()) {
                                s.connect(new InetSocketAddress(l.host(), l.port()), 2000);
                            }
                        }
                        return;
                    }
                } catch (Exception e) {
                    last = e;
                }
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("broker not ready within " + timeoutMs + " ms"
                + (last == null ? "" : ": " + Common.chain(last)));
    }

    static Map<String, List<String>> parse(String[] argv) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (int i = 0; i < argv.length; i++) {
            String k = argv[i];
            if (!k.startsWith("--")) throw new IllegalArgumentException("unexpected argument " + k);
            k = k.substring(2);
            if (i + 1 >= argv.length) throw new IllegalArgumentException("--" + k + " needs a value");
            m.computeIfAbsent(k, x -> new ArrayList<>()).add(argv[++i]);
        }
        if (!m.containsKey("dir")) throw new IllegalArgumentException("--dir is required");
        return m;
    }

    private Broker() {}

}
