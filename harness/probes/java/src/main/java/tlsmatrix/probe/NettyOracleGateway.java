package tlsmatrix.probe;

import io.grpc.MethodDescriptor;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import io.netty.handler.ssl.SslContextBuilder;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import tlsmatrix.probe.proto.OracleGatewayProto.BrokerInfo;
import tlsmatrix.probe.proto.OracleGatewayProto.Partition;
import tlsmatrix.probe.proto.OracleGatewayProto.TopologyRequest;
import tlsmatrix.probe.proto.OracleGatewayProto.TopologyResponse;

/**
 * Oracle gateway: a grpc-java server on the Netty transport (io.grpc:grpc-netty, the same
 * artifact, version and TLS call as the Zeebe 8.4 gateway) that serves only
 * {@code gateway_protocol.Gateway/Topology}. Every other method of the service is unknown to the
 * server, so grpc-java answers UNIMPLEMENTED by itself.
 *
 * <p>Configuration mirrors the Zeebe gateway: {@code --config FILE.yaml} with
 * zeebe.gateway.network.{host,port} and
 * zeebe.gateway.security.{enabled,certificateChainPath,privateKeyPath} (nested or dotted keys),
 * overridden by ZEEBE_GATEWAY_NETWORK_HOST, ZEEBE_GATEWAY_NETWORK_PORT,
 * ZEEBE_GATEWAY_SECURITY_ENABLED, ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH,
 * ZEEBE_GATEWAY_SECURITY_PRIVATEKEYPATH, and zeebe.gateway.security.keyStore.{filePath,password}
 * (ZEEBE_GATEWAY_SECURITY_KEYSTORE_FILEPATH / _PASSWORD), the PKCS#12 keystore Zeebe reads from
 * 8.6.0 on. An older release has no such keys and Spring ignores unknown keys: started with
 * {@code -Dtlsmatrix.keystore=false} (what the harness passes for a release before 8.6.0) the
 * oracle ignores them too.
 *
 * <p>Readiness: exactly one stdout line {@code netty-oracle listening on HOST:PORT (TLS|plaintext)}.
 * Everything else goes to stderr.
 */
public final class NettyOracleGateway {

  static final String SERVICE = "gateway_protocol.Gateway";
  static final String VERSION = "8.4.0";

  // Zeebe gateway defaults (NetworkCfg / SecurityCfg)
  static final String DEFAULT_HOST = "0.0.0.0";
  static final int DEFAULT_PORT = 26500;
  static final long MIN_KEEP_ALIVE_INTERVAL_MS = 30_000L;
  static final int MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

  static final String K_HOST = "zeebe.gateway.network.host";
  static final String K_PORT = "zeebe.gateway.network.port";
  static final String K_TLS = "zeebe.gateway.security.enabled";
  static final String K_CHAIN = "zeebe.gateway.security.certificatechainpath";
  static final String K_KEY = "zeebe.gateway.security.privatekeypath";
  static final String K_KS_PATH = "zeebe.gateway.security.keystore.filepath";
  static final String K_KS_PASS = "zeebe.gateway.security.keystore.password";

  /** Whether the modelled release binds the keyStore keys (8.6.0 on); see the class comment. */
  static final boolean READS_KEYSTORE = !"false".equals(System.getProperty("tlsmatrix.keystore"));

  static final MethodDescriptor<TopologyRequest, TopologyResponse> TOPOLOGY =
      MethodDescriptor.<TopologyRequest, TopologyResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Topology"))
          .setRequestMarshaller(ProtoUtils.marshaller(TopologyRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(TopologyResponse.getDefaultInstance()))
          .build();

  private NettyOracleGateway() {}

  public static void main(final String[] args) {
    if (args.length == 1 && "--runtime".equals(args[0])) {
      printRuntime();
      return;
    }
    if (args.length == 1 && "--serve".equals(args[0])) {
      serve();
      System.exit(0);
      return;
    }
    configureJulLogging();
    final Started started = start(args, System.getenv(), System.err);
    if (started.server == null) {
      System.exit(started.exit);
      return;
    }
    final Server server = started.server;
    final PrintStream err = System.err;
    final CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  err.println("netty-oracle: shutting down");
                  stop(server);
                  stopped.countDown();
                },
                "netty-oracle-shutdown"));

    System.out.println(started.listening);
    System.out.flush();

    try {
      server.awaitTermination();
      stopped.await(10, TimeUnit.SECONDS);
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A started gateway and its listening line, or the exit code of one that refused to start. */
  static final class Started {
    final Server server;
    final String listening;
    final int exit;

    Started(final Server server, final String listening, final int exit) {
      this.server = server;
      this.listening = listening;
      this.exit = exit;
    }

    static Started refused(final int exit) {
      return new Started(null, null, exit);
    }
  }

  /**
   * Starts one gateway from the arguments ({@code --config FILE}) and the environment {@code env}
   * (what the process was started with, or a warm request's), writing a refusal's lines to {@code
   * err}: exit code 2 for a configuration error, 3 for a TLS or start failure, as the one-shot
   * oracle exits.
   */
  static Started start(final String[] args, final Map<String, String> env, final PrintStream err) {
    final Map<String, String> cfg;
    try {
      cfg = loadConfig(args, env);
    } catch (final IllegalArgumentException | IOException e) {
      err.println("netty-oracle: configuration error: " + e.getMessage());
      return Started.refused(2);
    }

    final String host = cfg.getOrDefault(K_HOST, DEFAULT_HOST);
    final int port;
    final boolean tls;
    try {
      port = parsePort(cfg.get(K_PORT));
      tls = parseSpringBoolean(K_TLS, cfg.get(K_TLS), false);
    } catch (final IllegalArgumentException e) {
      err.println("netty-oracle: configuration error: " + e.getMessage());
      return Started.refused(2);
    }

    final NettyServerBuilder builder =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
            .maxInboundMessageSize(MAX_MESSAGE_SIZE)
            .permitKeepAliveTime(MIN_KEEP_ALIVE_INTERVAL_MS, TimeUnit.MILLISECONDS)
            .permitKeepAliveWithoutCalls(false)
            .addService(topologyService());

    if (tls) {
      final String keyStore = READS_KEYSTORE ? cfg.get(K_KS_PATH) : null;
      final boolean useKeyStore = keyStore != null && !keyStore.isEmpty();
      try {
        if (useKeyStore) {
          applyKeyStoreSecurity(
              builder, cfg.get(K_CHAIN), cfg.get(K_KEY), keyStore, cfg.get(K_KS_PASS));
        } else {
          applyTransportSecurity(builder, cfg.get(K_CHAIN), cfg.get(K_KEY));
        }
      } catch (final RuntimeException e) {
        err.println("netty-oracle: TLS configuration error: " + e);
        // A keystore failure says why only in its causes (the JDK's "keystore password was
        // incorrect" two levels down), so they stay on the lines an operator reads.
        final String cause =
            useKeyStore || READS_KEYSTORE ? "netty-oracle: caused by: " : "  caused by: ";
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
          err.println(cause + c);
        }
        return Started.refused(3);
      }
    }

    final Server server;
    try {
      server = builder.build().start();
    } catch (final IOException | RuntimeException e) {
      // grpc-java builds the SslContext lazily in some versions; report both the same way
      err.println("netty-oracle: failed to start: " + e);
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        err.println("  caused by: " + c);
      }
      return Started.refused(3);
    }

    final InetSocketAddress bound = (InetSocketAddress) server.getListenSockets().get(0);
    final String listening =
        "netty-oracle listening on "
            + hostForDisplay(host, bound)
            + ":"
            + bound.getPort()
            + " ("
            + (tls ? "TLS" : "plaintext")
            + ")";
    return new Started(server, listening, 0);
  }

  /**
   * Stops a gateway as the one-shot oracle's shutdown hook does: an orderly shutdown bounded by 5
   * s, then a forced one bounded by 2 s. True when it terminated.
   */
  static boolean stop(final Server server) {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(2, TimeUnit.SECONDS);
      }
    } catch (final InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return server.isTerminated();
  }

  /**
   * {@code --serve}: a warm oracle for the harness. Prints {@code {"ready":true}}, then reads one
   * JSON request per line, {@code {"args":[...],"env":{...},"cwd":"...","home":"..."}} (the one-shot
   * oracle's arguments and environment; relative paths are opened against this process's working
   * directory, which the harness fills with links to the case directory's files), and starts one
   * gateway from them, exactly as {@link #main} does from its own arguments and environment. It
   * answers {@code {"listening":"netty-oracle listening on ..."}} and serves until the next line
   * (any text; the end of input too), then stops the gateway as the shutdown hook does and
   * answers {@code {"exit":0,"stderr":"..."}}: everything written to stderr and logged while the
   * gateway ran. A gateway that refuses to start answers {@code {"exit":N,"stderr":"..."}} at
   * once, N being the one-shot oracle's exit code. A gateway that did not terminate within its
   * bounds adds {@code "last":true} and this process exits, so no later case sees its threads.
   * System.err (and with it java.util.logging) is switched to a buffer per case; JSON is read
   * with SnakeYAML (YAML 1.1 reads it), the oracle's own configuration parser, so the class path
   * stays the release's runtime.
   */
  static void serve() {
    final PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    final CaseSink sink = new CaseSink();
    System.setErr(new PrintStream(sink, true, StandardCharsets.UTF_8));
    configureJulLogging();
    out.println("{\"ready\":true}");
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String raw = in.readLine(); raw != null; raw = in.readLine()) {
        if (raw.isBlank()) {
          continue;
        }
        final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        sink.to(buffer);
        Started started;
        try {
          started = startFromRequest(raw);
        } catch (final RuntimeException e) {
          System.err.println("netty-oracle: bad request: " + e);
          started = Started.refused(2);
        }
        if (started.server == null) {
          sink.to(null);
          out.println("{\"exit\":" + started.exit + ",\"stderr\":" + json(buffer) + "}");
          continue;
        }
        out.println("{\"listening\":" + json(started.listening) + "}");
        final String stopLine = in.readLine();
        System.err.println("netty-oracle: shutting down");
        final boolean clean = stop(started.server);
        sink.to(null);
        out.println(
            "{\"exit\":0,\"stderr\":" + json(buffer) + (clean ? "" : ",\"last\":true") + "}");
        if (stopLine == null || !clean) {
          return;
        }
      }
    } catch (final IOException e) {
      sink.to(null);
      out.println("{\"exit\":2,\"stderr\":" + json("netty-oracle --serve: stdin: " + e) + "}");
    }
  }

  static Started startFromRequest(final String raw) {
    final Object parsed = new Yaml(new SafeConstructor(new LoaderOptions())).load(raw);
    if (!(parsed instanceof Map)) {
      throw new IllegalArgumentException("not a JSON object");
    }
    final Map<?, ?> request = (Map<?, ?>) parsed;
    final Object rawArgs = request.get("args");
    final String[] args =
        rawArgs instanceof List
            ? ((List<?>) rawArgs).stream().map(String::valueOf).toArray(String[]::new)
            : new String[0];
    final Map<String, String> env = new LinkedHashMap<>();
    final Object rawEnv = request.get("env");
    if (rawEnv instanceof Map) {
      ((Map<?, ?>) rawEnv).forEach((k, v) -> env.put(String.valueOf(k), String.valueOf(v)));
    }
    return start(args, env, System.err);
  }

  /** An output stream that writes to the current case's buffer, or nowhere between cases. */
  static final class CaseSink extends OutputStream {
    private volatile OutputStream target;

    void to(final OutputStream target) {
      this.target = target;
    }

    @Override
    public synchronized void write(final int b) throws IOException {
      final OutputStream t = target;
      if (t != null) {
        t.write(b);
      }
    }

    @Override
    public synchronized void write(final byte[] b, final int off, final int len)
        throws IOException {
      final OutputStream t = target;
      if (t != null) {
        t.write(b, off, len);
      }
    }
  }

  static String json(final ByteArrayOutputStream buffer) {
    return json(new String(buffer.toByteArray(), StandardCharsets.UTF_8));
  }

  static String json(final String s) {
    return Json.string(s);
  }

  /**
   * {@code --runtime}: the runtime this oracle actually loads, one line per library: {@code NAME
   * CLASS JAR} (the jar file the class was loaded from, or {@code absent}), then {@code java
   * VERSION} and {@code openssl AVAILABLE VERSION}. tests/oracle_runtime.rs compares it with the
   * release's recorded metadata (versions/RELEASE.properties).
   */
  static void printRuntime() {
    final String[][] libraries = {
      {"netty", "io.netty.handler.ssl.SslContext"},
      {"grpc", "io.grpc.netty.NettyServerBuilder"},
      {"tcnative", "io.netty.internal.tcnative.SSL"},
      {"bcpkix", "org.bouncycastle.openssl.PEMParser"},
      {"bcprov", "org.bouncycastle.jce.provider.BouncyCastleProvider"},
    };
    for (final String[] library : libraries) {
      String jar = "absent";
      try {
        final Class<?> c =
            Class.forName(library[1], false, NettyOracleGateway.class.getClassLoader());
        final java.security.CodeSource source = c.getProtectionDomain().getCodeSource();
        jar =
            source == null
                ? "unknown"
                : new File(source.getLocation().getPath()).getName();
      } catch (final ClassNotFoundException e) {
        // absent
      }
      System.out.println(library[0] + " " + library[1] + " " + jar);
    }
    System.out.println("java " + System.getProperty("java.version"));
    final boolean openssl = io.netty.handler.ssl.OpenSsl.isAvailable();
    System.out.println(
        "openssl "
            + openssl
            + " "
            + (openssl ? io.netty.handler.ssl.OpenSsl.versionString() : "-"));
  }

  /**
   * Same checks and same grpc-java call as the Zeebe 8.4 gateway's security setup: validate that
   * both paths are set and exist, then {@code NettyServerBuilder.useTransportSecurity(File, File)},
   * i.e. GrpcSslContexts.forServer(chain, key) -> Netty SslContextBuilder PEM loading.
   */
  static void applyTransportSecurity(
      final NettyServerBuilder builder, final String chainPath, final String keyPath) {
    if (READS_KEYSTORE) {
      applyPemSecurity(builder, chainPath, keyPath);
      return;
    }
    if (chainPath == null || chainPath.isEmpty()) {
      throw new IllegalArgumentException(
          "Expected to find a valid path to a certificate chain but none was found. "
              + "Edit the gateway configuration file to provide one or to disable TLS.");
    }
    if (keyPath == null || keyPath.isEmpty()) {
      throw new IllegalArgumentException(
          "Expected to find a valid path to a private key but none was found. "
              + "Edit the gateway configuration file to provide one or to disable TLS.");
    }
    // relative paths resolve against the working directory (java.io.File semantics)
    final File chain = new File(chainPath);
    final File key = new File(keyPath);
    if (!chain.exists()) {
      throw new IllegalArgumentException(
          String.format(
              "Expected to find a certificate chain file at the provided location '%s' but none was found.",
              chain));
    }
    if (!key.exists()) {
      throw new IllegalArgumentException(
          String.format(
              "Expected to find a private key file at the provided location '%s' but none was found.",
              key));
    }
    builder.useTransportSecurity(chain, key);
  }

  /**
   * The Zeebe 8.6 gateway's PEM path (Gateway.setSecurityConfig with TlsConfigUtil, as the 8.6
   * keystore path below): both paths set, each file readable ({@code File.canRead()}), then
   * {@code SslContextBuilder.forServer(chain, key)} through {@code GrpcSslContexts.configure}; any
   * failure there is wrapped in "Failed to start messaging service; invalid server TLS
   * configuration".
   */
  static void applyPemSecurity(
      final NettyServerBuilder builder, final String chainPath, final String keyPath) {
    if (chainPath == null || chainPath.isEmpty()) {
      throw new IllegalArgumentException(
          "Expected to have a valid certificate chain path for network security, but none "
              + "configured");
    }
    if (keyPath == null || keyPath.isEmpty()) {
      throw new IllegalArgumentException(
          "Expected to have a valid private key path for network security, but none configured");
    }
    final File chain = new File(chainPath);
    final File key = new File(keyPath);
    if (!chain.canRead()) {
      throw new IllegalArgumentException(
          String.format(
              "Expected the configured network security certificate chain path '%s' to point to a"
                  + " readable file, but it does not",
              chain));
    }
    if (!key.canRead()) {
      throw new IllegalArgumentException(
          String.format(
              "Expected the configured network security private key path '%s' to point to a "
                  + "readable file, but it does not",
              key));
    }
    try {
      builder.sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(chain, key)).build());
    } catch (final Exception e) {
      throw new IllegalArgumentException(
          "Failed to start messaging service; invalid server TLS configuration", e);
    }
  }

  /**
   * The Zeebe 8.6 gateway's keystore path (Gateway.setSecurityConfig with TlsConfigUtil, camunda
   * PRs #21220 and #21375): PEM and keystore are mutually exclusive, the file must be readable,
   * then the first alias's key and chain of a PKCS#12 store opened with the password (none: "")
   * go to {@code SslContextBuilder.forServer(key, chain)}; any failure there is wrapped in "Failed
   * to start messaging service; invalid server TLS configuration".
   */
  static void applyKeyStoreSecurity(
      final NettyServerBuilder builder,
      final String chainPath,
      final String keyPath,
      final String keyStorePath,
      final String password) {
    if ((chainPath != null && !chainPath.isEmpty()) || (keyPath != null && !keyPath.isEmpty())) {
      throw new IllegalArgumentException(
          "Expected to configure with a certificate and private key pair, or with a key store and"
              + " password, but both were provided. Please select only one approach");
    }
    final File file = new File(keyStorePath);
    if (!file.canRead()) {
      throw new IllegalArgumentException(
          String.format(
              "Expected the configured network security keystore file '%s' to point to a "
                  + "readable file, but it does not",
              file));
    }
    try {
      final String sanitised = Objects.toString(password, "");
      final KeyStore store = loadPkcs12(file, sanitised);
      final String alias = store.aliases().nextElement();
      final PrivateKey key = (PrivateKey) store.getKey(alias, sanitised.toCharArray());
      final X509Certificate[] chain =
          Arrays.stream(store.getCertificateChain(alias))
              .map(X509Certificate.class::cast)
              .toArray(X509Certificate[]::new);
      builder.sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(key, chain)).build());
    } catch (final Exception e) {
      throw new IllegalArgumentException(
          "Failed to start messaging service; invalid server TLS configuration", e);
    }
  }

  static KeyStore loadPkcs12(final File file, final String password) throws Exception {
    final KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(file)) {
      store.load(in, password.toCharArray());
    } catch (final Exception e) {
      throw new IllegalStateException(
          String.format(
              "Keystore failed to load file: %s, please ensure it is a valid PKCS12 keystore",
              file.toPath()),
          e);
    }
    return store;
  }

  static ServerServiceDefinition topologyService() {
    final TopologyResponse response =
        TopologyResponse.newBuilder()
            .addBrokers(
                BrokerInfo.newBuilder()
                    .setNodeId(0)
                    .setHost("broker-0")
                    .setPort(26501)
                    .setVersion(VERSION)
                    .addPartitions(
                        Partition.newBuilder()
                            .setPartitionId(1)
                            .setRole(Partition.PartitionBrokerRole.LEADER)
                            .setHealth(Partition.PartitionBrokerHealth.HEALTHY)))
            .setClusterSize(1)
            .setPartitionsCount(1)
            .setReplicationFactor(1)
            .setGatewayVersion(VERSION)
            .build();
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(
            TOPOLOGY,
            ServerCalls.asyncUnaryCall(
                (request, observer) -> {
                  observer.onNext(response);
                  observer.onCompleted();
                }))
        .build();
  }

  // ---------------------------------------------------------------- configuration

  static Map<String, String> loadConfig(final String[] args, final Map<String, String> environment)
      throws IOException {
    String configFile = null;
    for (int i = 0; i < args.length; i++) {
      final String a = args[i];
      if (a.equals("--config")) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("--config needs a file argument");
        }
        configFile = args[++i];
      } else if (a.startsWith("--config=")) {
        configFile = a.substring("--config=".length());
      } else if (a.equals("-h") || a.equals("--help")) {
        System.err.println("usage: NettyOracleGateway [--config FILE.yaml]");
        System.exit(0);
      } else {
        throw new IllegalArgumentException("unknown argument: " + a);
      }
    }

    final Map<String, String> cfg = new LinkedHashMap<>();
    if (configFile != null) {
      final LoaderOptions opts = new LoaderOptions();
      final Yaml yaml = new Yaml(new SafeConstructor(opts));
      try (InputStream in = new FileInputStream(new File(configFile));
          Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
        final Object root = yaml.load(r);
        if (root != null && !(root instanceof Map)) {
          throw new IllegalArgumentException(
              "config file " + configFile + " is not a YAML mapping");
        }
        if (root != null) {
          flatten("", (Map<?, ?>) root, cfg);
        }
      }
    }

    // environment overrides, Spring-style: ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH ->
    // zeebe.gateway.security.certificatechainpath
    final String[][] env = {
      {"ZEEBE_GATEWAY_NETWORK_HOST", K_HOST},
      {"ZEEBE_GATEWAY_NETWORK_PORT", K_PORT},
      {"ZEEBE_GATEWAY_SECURITY_ENABLED", K_TLS},
      {"ZEEBE_GATEWAY_SECURITY_CERTIFICATECHAINPATH", K_CHAIN},
      {"ZEEBE_GATEWAY_SECURITY_PRIVATEKEYPATH", K_KEY},
      {"ZEEBE_GATEWAY_SECURITY_KEYSTORE_FILEPATH", K_KS_PATH},
      {"ZEEBE_GATEWAY_SECURITY_KEYSTORE_PASSWORD", K_KS_PASS},
    };
    for (final String[] e : env) {
      final String v = environment.get(e[0]);
      if (v != null) {
        cfg.put(e[1], v);
      }
    }
    return cfg;
  }

  /**
   * Flattens nested maps into canonical dotted keys. Canonical form (Spring relaxed binding): lower
   * case, '-' and '_' removed inside a segment, so certificateChainPath, certificate-chain-path
   * and certificatechainpath are the same key; "a: {b.c: x}" and "a.b: {c: x}" both give a.b.c.
   */
  static void flatten(final String prefix, final Map<?, ?> map, final Map<String, String> out) {
    for (final Map.Entry<?, ?> e : map.entrySet()) {
      final String key = prefix + canonical(String.valueOf(e.getKey()));
      final Object v = e.getValue();
      if (v instanceof Map) {
        flatten(key + ".", (Map<?, ?>) v, out);
      } else if (v instanceof List) {
        throw new IllegalArgumentException("unexpected list value for key " + key);
      } else if (v != null) {
        out.put(key, String.valueOf(v));
      }
    }
  }

  static String canonical(final String key) {
    final StringBuilder sb = new StringBuilder();
    for (final String seg : key.split("\\.", -1)) {
      if (sb.length() > 0) {
        sb.append('.');
      }
      sb.append(seg.replace("-", "").replace("_", "").toLowerCase(Locale.ROOT));
    }
    return sb.toString();
  }

  static int parsePort(final String v) {
    if (v == null || v.trim().isEmpty()) {
      return DEFAULT_PORT;
    }
    try {
      final int p = Integer.parseInt(v.trim());
      if (p < 0 || p > 65535) {
        throw new IllegalArgumentException("port out of range: " + v);
      }
      return p;
    } catch (final NumberFormatException e) {
      throw new IllegalArgumentException("invalid port for " + K_PORT + ": '" + v + "'");
    }
  }

  /**
   * Spring's String-to-Boolean conversion: true/on/yes/1 and false/off/no/0, case-insensitive;
   * empty means unset; anything else is an error.
   */
  static boolean parseSpringBoolean(final String key, final String v, final boolean dflt) {
    if (v == null) {
      return dflt;
    }
    final String s = v.trim().toLowerCase(Locale.ROOT);
    switch (s) {
      case "":
        return dflt;
      case "true":
      case "on":
      case "yes":
      case "1":
        return true;
      case "false":
      case "off":
      case "no":
      case "0":
        return false;
      default:
        throw new IllegalArgumentException("Invalid boolean value '" + v + "' for " + key);
    }
  }

  static String hostForDisplay(final String configured, final InetSocketAddress bound) {
    if (configured != null && !configured.isEmpty()) {
      return configured;
    }
    return bound.getAddress().getHostAddress();
  }

  // ---------------------------------------------------------------- logging

  /**
   * grpc-java logs through java.util.logging; NettyServerTransport logs "Transport failed" with
   * the Http2Exception at INFO. Send JUL at INFO to stderr, one header line per record followed by
   * the exception's toString() and stack trace.
   */
  static void configureJulLogging() {
    System.setProperty(
        "java.util.logging.SimpleFormatter.format",
        "%1$tF %1$tT.%1$tL %4$s [%3$s] %5$s%6$s%n");
    LogManager.getLogManager().reset();
    final Logger root = Logger.getLogger("");
    // NETTY_ORACLE_LOG_LEVEL (a java.util.logging level name, e.g. FINE) lowers the threshold for
    // experiments; the default INFO matches what a Zeebe gateway shows by default.
    Level level = Level.INFO;
    final String wanted = System.getenv("NETTY_ORACLE_LOG_LEVEL");
    if (wanted != null && !wanted.isBlank()) {
      try {
        level = Level.parse(wanted.trim().toUpperCase(Locale.ROOT));
      } catch (final IllegalArgumentException e) {
        System.err.println("netty-oracle: ignoring invalid NETTY_ORACLE_LOG_LEVEL=" + wanted);
      }
    }
    final ConsoleHandler h = new ConsoleHandler(); // writes to System.err
    h.setLevel(level);
    try {
      h.setEncoding(StandardCharsets.UTF_8.name());
    } catch (final java.io.UnsupportedEncodingException ignored) {
      // keep the platform default
    }
    for (final Handler old : root.getHandlers()) {
      root.removeHandler(old);
    }
    root.addHandler(h);
    root.setLevel(level);
    KeepLogsLogManager.freeze();
  }
}
