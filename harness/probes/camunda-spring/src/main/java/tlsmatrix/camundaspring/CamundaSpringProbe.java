package tlsmatrix.camundaspring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.camunda.client.CamundaClient;
import io.camunda.client.api.response.Topology;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

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
 *
 * <p>With {@code --serve} the probe stays up (a warm peer) and reads one JSON request per line on
 * stdin, {@code {"args":[...],"env":{...},"cwd":"...","home":"..."}}, and answers each with the
 * line the one-shot probe prints, plus {@code "exit":N}. Each request runs a fresh {@code
 * SpringApplication}, so a fresh application context and a fresh {@code CamundaClient} bean, closed
 * after its answer. What differs from a JVM started for the case, and how it is given:
 *
 * <ul>
 *   <li>the environment: Spring reads environment variables only through the environment's {@code
 *       systemEnvironment} property source; {@link CaseApplication} replaces that source (after
 *       {@code SpringApplication.configureEnvironment}, before any post-processor reads it) with one
 *       over the case's variables and {@code HOME}, as a JVM started with exactly them has. The
 *       starter builds its client from the environment's properties, never through the client
 *       builder's own {@code System.getenv} reads (see {@code harness/src/peers/camunda_spring.rs});
 *   <li>{@code user.home}: set per request with {@code System.setProperty}, restored after;
 *   <li>the working directory, fixed when a JVM starts: the harness makes the warm JVM's own working
 *       directory mirror the case directory (symbolic links), so {@code ./config/application.yaml}
 *       and a relative CA path name the case's files by the same text.
 * </ul>
 *
 * <p>Spring's console output goes to stderr in this mode, so stdout carries only the protocol. A
 * case that does not answer within its bound is answered by its watchdog with {@code "last":true}
 * and the JVM halts; the harness starts a fresh one. What a JVM reads once (JAVA_TOOL_OPTIONS, the
 * JDK's HTTP keep-alive cache an OAuth token call uses, the hosts file) is never sent: the harness
 * runs those cases cold. The requests are read with the Jackson the starter itself ships
 * (jackson-databind, a runtime dependency of camunda-client-java).
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class CamundaSpringProbe {

  private static final AtomicBoolean PRINTED = new AtomicBoolean();
  private static PrintStream out;

  public static void main(final String[] args) {
    out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    if (args.length == 1 && "--serve".equals(args[0])) {
      System.setOut(System.err);
      serve();
      System.exit(0);
      return;
    }
    final Parsed parsed;
    try {
      parsed = Parsed.of(args);
    } catch (final IllegalArgumentException e) {
      print(failure(e));
      System.err.println("usage: CamundaSpringProbe [--timeout-ms 5000] [--camunda.client.NAME=VALUE ...]");
      System.exit(2);
      return;
    }
    startWatchdog(2 * parsed.timeoutMs + 5000);
    final Result result = runCase(parsed, new SpringApplication(CamundaSpringProbe.class));
    print(result.line);
    System.exit(result.code);
  }

  /** The probe's own {@code --timeout-ms} and the arguments that go to Spring unchanged. */
  private static final class Parsed {
    final long timeoutMs;
    final String[] springArgs;

    private Parsed(final long timeoutMs, final String[] springArgs) {
      this.timeoutMs = timeoutMs;
      this.springArgs = springArgs;
    }

    static Parsed of(final String[] args) {
      long timeoutMs = 5000;
      final List<String> springArgs = new ArrayList<>();
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
      return new Parsed(timeoutMs, springArgs.toArray(new String[0]));
    }
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

  /**
   * A {@code SpringApplication} whose environment reads the case's variables: the {@code
   * systemEnvironment} property source, the only one through which Spring reads environment
   * variables, is replaced by one over {@code env} right after Spring Boot configured the
   * environment and before any {@code EnvironmentPostProcessor} reads it.
   */
  static final class CaseApplication extends SpringApplication {
    private final Map<String, Object> env;

    CaseApplication(final Map<String, Object> env) {
      super(CamundaSpringProbe.class);
      this.env = env;
    }

    @Override
    protected void configureEnvironment(
        final ConfigurableEnvironment environment, final String[] args) {
      super.configureEnvironment(environment, args);
      final String name = StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME;
      environment
          .getPropertySources()
          .replace(name, new SystemEnvironmentPropertySource(name, env));
    }
  }

  private static void serve() {
    final ObjectMapper mapper = new ObjectMapper();
    final String home = System.getProperty("user.home");
    out.println("{\"ready\":true}");
    out.flush();
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String raw = in.readLine(); raw != null; raw = in.readLine()) {
        if (raw.isBlank()) {
          continue;
        }
        final AtomicBoolean answered = new AtomicBoolean();
        Thread watchdog = null;
        Result result;
        try {
          final JsonNode request = mapper.readTree(raw);
          final List<String> args = new ArrayList<>();
          request.path("args").forEach(a -> args.add(a.asText()));
          final Map<String, Object> env = new HashMap<>();
          request.path("env").fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
          final String caseHome = request.path("home").asText(null);
          if (caseHome != null) {
            env.put("HOME", caseHome);
            System.setProperty("user.home", caseHome);
          }
          final Parsed parsed = Parsed.of(args.toArray(new String[0]));
          watchdog = caseWatchdog(2 * parsed.timeoutMs + 5000, answered);
          result = runCase(parsed, new CaseApplication(env));
        } catch (final Exception e) {
          result = new Result(failure(e), 2);
        } finally {
          System.setProperty("user.home", home);
        }
        if (watchdog != null) {
          watchdog.interrupt();
        }
        if (answered.compareAndSet(false, true)) {
          answer(result.line, result.code, false);
        }
      }
    } catch (final java.io.IOException e) {
      System.err.println("CamundaSpringProbe --serve: stdin: " + e);
    }
  }

  /** Prints one case's line with its exit code (and {@code "last":true} before a halt). */
  private static synchronized void answer(final String line, final int code, final boolean last) {
    out.println(
        line.substring(0, line.length() - 1)
            + ",\"exit\":"
            + code
            + (last ? ",\"last\":true" : "")
            + "}");
    out.flush();
  }

  /**
   * Bounds one warm case: when it has not answered within {@code boundMs}, its failure line is the
   * answer (with {@code "last":true}) and the JVM halts, so a hung context never serves again.
   */
  private static Thread caseWatchdog(final long boundMs, final AtomicBoolean answered) {
    final Thread watchdog =
        new Thread(
            () -> {
              try {
                Thread.sleep(boundMs);
              } catch (final InterruptedException e) {
                return;
              }
              if (answered.compareAndSet(false, true)) {
                answer(
                    failure(
                        new IllegalStateException(
                            "probe watchdog: no answer within " + boundMs + " ms")),
                    1,
                    true);
                Runtime.getRuntime().halt(1);
              }
            },
            "probe-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    return watchdog;
  }

  /** One case: a context from {@code app}, the starter's client, one Topology call over gRPC. */
  private static Result runCase(final Parsed parsed, final SpringApplication app) {
    final long timeoutMs = parsed.timeoutMs;
    int code;
    String line;
    ConfigurableApplicationContext context = null;
    try {
      app.setWebApplicationType(WebApplicationType.NONE);
      app.setBannerMode(Banner.Mode.OFF);
      app.setLogStartupInfo(false);
      app.setDefaultProperties(Map.of("spring.main.web-application-type", "none"));
      context = app.run(parsed.springArgs);
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
    return new Result(line, code);
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
