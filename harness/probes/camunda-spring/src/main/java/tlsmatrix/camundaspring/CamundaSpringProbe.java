package tlsmatrix.camundaspring;

import io.camunda.client.CamundaClient;
import io.camunda.client.api.response.Topology;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.boot.Banner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Client probe: a minimal non-web Spring Boot application (Spring Boot 3.5.6) with the official
 * Camunda Spring Boot starter (io.camunda:camunda-spring-boot-starter 8.8.4) gets the {@code
 * CamundaClient} bean that the starter builds from its {@code camunda.client.*} properties, asks
 * for the topology over gRPC once, and prints exactly one JSON line on stdout.
 *
 * <pre>
 * CamundaSpringProbe [--timeout-ms 5000] [SPRING ARGUMENT ...]
 * </pre>
 *
 * <p>Every argument but {@code --timeout-ms N} goes to {@code SpringApplication.run} unchanged, so
 * {@code --camunda.client.grpc-address=https://HOST:PORT} is a command-line property exactly as a
 * user passes it. Everything else comes the way a Spring Boot application reads it: {@code
 * CAMUNDA_CLIENT_*} (and legacy) environment variables, and {@code application.yaml} in the working
 * directory or its {@code config/} folder. The probe sets nothing of the starter's own: it only
 * switches the web server and the banner off ({@code setWebApplicationType(NONE)}, default
 * properties, the lowest precedence). The request says {@code useGrpc()}: the starter's {@code
 * camunda.client.prefer-rest-over-grpc} defaults to true in 8.8.4, and this probe is about the gRPC
 * address.
 *
 * <p>Success: {"ok":true,"brokers":N,"gateway_version":"..."} and exit 0. Failure (the application
 * context does not start, or the call fails): {"ok":false,"error":"top exception
 * toString()","chain":["cause 1 toString()",...]} and exit 1. Usage errors exit 2. A watchdog prints
 * a failure line and halts the JVM when start-up and call together exceed twice the timeout.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class CamundaSpringProbe {

  private static final AtomicBoolean PRINTED = new AtomicBoolean();
  private static PrintStream out;

  public static void main(final String[] args) {
    out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    long timeoutMs = 5000;
    final List<String> springArgs = new ArrayList<>();
    try {
      for (int i = 0; i < args.length; i++) {
        if (args[i].equals("--timeout-ms")) {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException("--timeout-ms needs a value");
          }
          timeoutMs = Long.parseLong(args[++i]);
        } else {
          springArgs.add(args[i]);
        }
      }
    } catch (final IllegalArgumentException e) {
      print(failure(e));
      System.err.println("usage: CamundaSpringProbe [--timeout-ms 5000] [--camunda.client.NAME=VALUE ...]");
      System.exit(2);
      return;
    }
    startWatchdog(2 * timeoutMs + 5000);

    int code;
    String line;
    ConfigurableApplicationContext context = null;
    try {
      final SpringApplication app = new SpringApplication(CamundaSpringProbe.class);
      app.setWebApplicationType(WebApplicationType.NONE);
      app.setBannerMode(Banner.Mode.OFF);
      app.setLogStartupInfo(false);
      app.setDefaultProperties(Map.of("spring.main.web-application-type", "none"));
      context = app.run(springArgs.toArray(new String[0]));
      final CamundaClient client = context.getBean(CamundaClient.class);
      System.err.println(
          "camunda-spring probe: the starter's client dials "
              + client.getConfiguration().getGrpcAddress()
              + " (ca-certificate-path "
              + client.getConfiguration().getCaCertificatePath()
              + ")");
      final Topology topology =
          client
              .newTopologyRequest()
              .useGrpc()
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
      if (context != null) {
        try {
          context.close();
        } catch (final Throwable ignored) {
          // best effort
        }
      }
    }
    print(line);
    System.exit(code);
  }

  private static void print(final String line) {
    if (PRINTED.compareAndSet(false, true)) {
      out.println(line);
      out.flush();
    }
  }

  /** Bounds start-up and call: a hung context start still ends with one JSON line. */
  private static void startWatchdog(final long boundMs) {
    final Thread watchdog =
        new Thread(
            () -> {
              try {
                Thread.sleep(boundMs);
              } catch (final InterruptedException e) {
                return;
              }
              print(
                  failure(
                      new IllegalStateException(
                          "probe watchdog: no answer within " + boundMs + " ms")));
              Runtime.getRuntime().halt(1);
            },
            "probe-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
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
