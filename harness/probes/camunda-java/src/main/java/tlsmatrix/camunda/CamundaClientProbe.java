package tlsmatrix.camunda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.camunda.client.CamundaClient;
import io.camunda.client.api.response.Topology;
import io.camunda.client.impl.util.Environment;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Client probe: the official Camunda Java client (io.camunda:camunda-client-java 8.9.0) asks a
 * gateway for its topology over gRPC, or over REST with {@code --rest}, and prints exactly one
 * JSON line on stdout.
 *
 * <pre>
 * CamundaClientProbe --address URI [--ca PATH] [--timeout-ms 5000]
 * CamundaClientProbe --rest URI [--ca PATH] [--timeout-ms 5000]
 * CamundaClientProbe --serve
 * </pre>
 *
 * <p>{@code URI} is the client's {@code grpcAddress} with its scheme ({@code https://host:port}
 * or {@code http://host:port}): in 8.9.0 the scheme alone decides TLS, there is no public
 * {@code usePlaintext()}. The client is built with {@code preferRestOverGrpc(false)} and the
 * topology request with {@code useGrpc()}, so the call goes over gRPC whatever the environment.
 * Environment variables (CAMUNDA_*, ZEEBE_*) are left to the client's own builder, which applies
 * them in build() on top of the values set here.
 *
 * <p>With {@code --rest URI} the probe runs in REST mode: {@code restAddress(URI)} (its scheme
 * alone decides TLS for the REST client, Apache HttpClient 5), {@code preferRestOverGrpc(true)},
 * and the topology request with {@code useRest()} ({@code GET /v2/topology}), so the call goes
 * over REST whatever CAMUNDA_PREFER_REST says. The gRPC address stays the client's default unless
 * {@code --address} is given too; the gRPC channel is built (lazily) but never dialled.
 *
 * <p>With {@code --serve} the probe stays up (a warm peer) and reads one JSON request per line
 * on stdin, {@code {"args":[...],"env":{...},"cwd":"...","home":"..."}}, and answers each with the
 * line the one-shot probe prints, plus {@code "exit":N}. Each request builds a fresh client. Its
 * environment is given through the client's own {@code io.camunda.client.impl.util.Environment
 * .system()}, which every {@code CAMUNDA_*}/{@code ZEEBE_*} read of camunda-client-java 8.9.0
 * goes through ({@code BuilderUtils.applyEnvironmentValueIfNotNull} and the credentials checks in
 * {@code CamundaClientBuilderImpl}, read in its 8.9.0 sources), set before {@code build()} and
 * removed after; {@code user.home} through {@code System.setProperty}; a relative {@code --ca} is
 * resolved against {@code cwd}, because a JVM's working directory is fixed when it starts. The
 * JSON requests are read with the Jackson the client itself ships (jackson-databind, a runtime
 * dependency of camunda-client-java). What the JVM reads once (JAVA_TOOL_OPTIONS,
 * javax.net.ssl.*, the default SSLContext, the DNS cache) is never sent: the harness runs those
 * cases cold.
 *
 * <p>Success: {"ok":true,"brokers":N,"gateway_version":"..."} and exit 0. Failure:
 * {"ok":false,"error":"top exception toString()","chain":["cause 1 toString()",...]} and exit 1;
 * "chain" lists the causes below the top exception, outermost first. Usage errors exit 2.
 */
public final class CamundaClientProbe {

  private CamundaClientProbe() {}

  public static void main(final String[] args) {
    final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    if (args.length == 1 && "--serve".equals(args[0])) {
      serve(out);
      System.exit(0);
      return;
    }
    final Result result = runCase(args, null);
    out.println(result.line);
    if (result.code == 2) {
      System.err.println(
          "usage: CamundaClientProbe (--address URI | --rest URI) [--ca PATH] [--timeout-ms 5000]");
    }
    out.flush();
    System.exit(result.code);
  }

  /** One case's JSON line and the exit code the one-shot probe ends with. */
  private static final class Result {
    final String line;
    final int code;

    Result(final String line, final int code) {
      this.line = line;
      this.code = code;
    }
  }

  private static void serve(final PrintStream out) {
    final ObjectMapper mapper = new ObjectMapper();
    final Environment environment = Environment.system();
    final String home = System.getProperty("user.home");
    out.println("{\"ready\":true}");
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String raw = in.readLine(); raw != null; raw = in.readLine()) {
        if (raw.isBlank()) {
          continue;
        }
        final List<String> set = new ArrayList<>();
        Result result;
        try {
          final JsonNode request = mapper.readTree(raw);
          final List<String> args = new ArrayList<>();
          request.path("args").forEach(a -> args.add(a.asText()));
          request
              .path("env")
              .fields()
              .forEachRemaining(
                  e -> {
                    environment.put(e.getKey(), e.getValue().asText());
                    set.add(e.getKey());
                  });
          final String caseHome = request.path("home").asText(null);
          if (caseHome != null) {
            System.setProperty("user.home", caseHome);
          }
          result = runCase(args.toArray(new String[0]), request.path("cwd").asText(null));
        } catch (final Exception e) {
          result = new Result(failure(e), 2);
        } finally {
          set.forEach(environment::remove);
          System.setProperty("user.home", home);
        }
        out.println(
            result.line.substring(0, result.line.length() - 1) + ",\"exit\":" + result.code + "}");
        out.flush();
      }
    } catch (final java.io.IOException e) {
      System.err.println("CamundaClientProbe --serve: stdin: " + e);
    }
  }

  /**
   * Runs one case: a fresh client, one Topology call. {@code cwd}, when not null, is the case's
   * directory a relative {@code --ca} names a file in (the warm probe's; the one-shot probe runs
   * in it).
   */
  private static Result runCase(final String[] args, final String cwd) {
    String address = null;
    String rest = null;
    String ca = null;
    long timeoutMs = 5000;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--address":
            address = value(args, ++i, "--address");
            break;
          case "--rest":
            rest = value(args, ++i, "--rest");
            break;
          case "--ca":
            ca = value(args, ++i, "--ca");
            break;
          case "--timeout-ms":
            timeoutMs = Long.parseLong(value(args, ++i, "--timeout-ms"));
            break;
          default:
            throw new IllegalArgumentException("unknown argument: " + args[i]);
        }
      }
      if (address == null && rest == null) {
        throw new IllegalArgumentException("--address URI or --rest URI is required");
      }
    } catch (final IllegalArgumentException e) {
      return new Result(failure(e), 2);
    }
    if (ca != null && cwd != null && !ca.isEmpty() && !new File(ca).isAbsolute()) {
      ca = new File(cwd, ca).getPath();
    }

    int code;
    String line;
    CamundaClient client = null;
    try {
      final var builder =
          CamundaClient.newClientBuilder()
              .preferRestOverGrpc(rest != null)
              .defaultRequestTimeout(Duration.ofMillis(timeoutMs));
      if (address != null) {
        builder.grpcAddress(URI.create(address));
      }
      if (rest != null) {
        builder.restAddress(URI.create(rest));
      }
      if (ca != null) {
        builder.caCertificatePath(ca);
      }
      client = builder.build();
      final var request = client.newTopologyRequest();
      if (rest != null) {
        request.useRest();
      } else {
        request.useGrpc();
      }
      final Topology topology =
          request
              .requestTimeout(Duration.ofMillis(timeoutMs))
              .send()
              .join(timeoutMs + 1000, TimeUnit.MILLISECONDS);
      line =
          "{\"ok\":true,\"brokers\":"
              + topology.getBrokers().size()
              + ",\"gateway_version\":"
              + json(topology.getGatewayVersion())
              + "}";
      code = 0;
    } catch (final Throwable t) {
      line = failure(t);
      code = 1;
    } finally {
      if (client != null) {
        try {
          client.close();
        } catch (final Throwable ignored) {
          // best effort
        }
      }
    }
    return new Result(line, code);
  }

  private static String value(final String[] args, final int i, final String flag) {
    if (i >= args.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args[i];
  }

  static String failure(final Throwable top) {
    final StringBuilder sb = new StringBuilder();
    sb.append("{\"ok\":false,\"error\":").append(json(top.toString())).append(",\"chain\":[");
    final Map<Throwable, Boolean> seen = new IdentityHashMap<>();
    seen.put(top, true);
    final List<String> chain = new ArrayList<>();
    for (Throwable c = top.getCause(); c != null && !seen.containsKey(c); c = c.getCause()) {
      seen.put(c, true);
      chain.add(json(c.toString()));
    }
    sb.append(String.join(",", chain)).append("]}");
    return sb.toString();
  }

  static String json(final String s) {
    if (s == null) {
      return "null";
    }
    final StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      final char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        default:
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
      }
    }
    return sb.append('"').toString();
  }
}
