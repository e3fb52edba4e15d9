package tlsmatrix.probe;

import io.camunda.zeebe.client.ZeebeClient;
import io.camunda.zeebe.client.ZeebeClientBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.camunda.zeebe.client.api.response.Topology;
import io.camunda.zeebe.client.impl.util.Environment;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Client probe: the official Zeebe Java client (io.camunda:zeebe-client-java) asks a gateway for
 * its topology and prints exactly one JSON line on stdout.
 *
 * <pre>
 * JavaClientProbe --address HOST:PORT [--plaintext] [--ca PATH] [--timeout-ms 5000]
 * JavaClientProbe --serve
 * </pre>
 *
 * <p>With {@code --serve} the probe stays up and reads one JSON request per line on stdin,
 * {@code {"args":[...],"env":{...},"cwd":"...","home":"..."}}, and answers each with the line the
 * one-shot probe prints, plus {@code "exit":N}. Each request builds a fresh client. Its {@code
 * ZEEBE_*} environment is given through the client's own environment ({@code
 * Environment.system()}, which every {@code ZEEBE_*} read of zeebe-client-java 8.4.21 goes
 * through, in {@code build()}), {@code user.home} through {@code System.setProperty}, and a
 * relative {@code --ca} is resolved against {@code cwd}, because a JVM's working directory is
 * fixed when it starts. Anything the JVM reads once (JAVA_TOOL_OPTIONS, javax.net.ssl.*, the
 * default SSLContext, the DNS cache) is never sent here: the harness runs those cases cold.
 *
 * Success: {"ok":true,"brokers":N,"gateway_version":"..."} and exit 0. Failure:
 * {"ok":false,"error":"top exception toString()","chain":["cause 1 toString()",...]} and exit 1;
 * "chain" lists the causes below the top exception (top excluded), outermost first. Usage errors
 * exit 2 (also with a JSON line). Environment variables (ZEEBE_INSECURE_CONNECTION,
 * ZEEBE_CA_CERTIFICATE_PATH, ...) are left to the client's own builder, which applies them in
 * build() on top of the values set here.
 */
public final class JavaClientProbe {

  private JavaClientProbe() {}

  public static void main(final String[] args) {
    // stdout carries the JSON lines only
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
          "usage: JavaClientProbe --address HOST:PORT [--plaintext] [--ca PATH] [--timeout-ms 5000]");
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
      System.err.println("JavaClientProbe --serve: stdin: " + e);
    }
  }

  /**
   * Runs one case: a fresh client, one Topology call. {@code cwd}, when not null, is the case's
   * directory a relative {@code --ca} names a file in (the warm probe's; the one-shot probe runs
   * in it).
   */
  private static Result runCase(final String[] args, final String cwd) {
    String address = null;
    boolean plaintext = false;
    String ca = null;
    long timeoutMs = 5000;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--address":
            address = value(args, ++i, "--address");
            break;
          case "--plaintext":
            plaintext = true;
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
      if (address == null) {
        throw new IllegalArgumentException("--address HOST:PORT is required");
      }
    } catch (final IllegalArgumentException e) {
      return new Result(failure(e), 2);
    }
    if (ca != null && cwd != null && !new File(ca).isAbsolute()) {
      ca = new File(cwd, ca).getPath();
    }

    int code;
    String line;
    ZeebeClient client = null;
    try {
      final ZeebeClientBuilder builder =
          ZeebeClient.newClientBuilder()
              .gatewayAddress(address)
              .defaultRequestTimeout(Duration.ofMillis(timeoutMs));
      if (plaintext) {
        builder.usePlaintext();
      }
      if (ca != null) {
        builder.caCertificatePath(ca);
      }
      client = builder.build();
      final Topology topology =
          client
              .newTopologyRequest()
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
    return Json.string(s);
  }
}
