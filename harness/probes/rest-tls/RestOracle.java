// The REST oracle: embedded Tomcat serving GET /v2/topology over HTTP/1.1,
// with TLS from a PEM chain and key the way Spring Boot 3.3 configures its
// Tomcat connector (NIO, JSSE, one SSLHostConfig with one certificate) when
// server.ssl.certificate / certificate-private-key are set; plaintext without
// --cert. Prints "listening PORT tomcat VERSION" on stdout when it accepts
// connections, then serves until killed. A certificate Tomcat refuses ends it
// with the exception on stderr and exit 1.
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.catalina.util.ServerInfo;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;

public class RestOracle {
    public static void main(String[] args) throws Exception {
        String cert = null;
        String key = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cert" -> cert = args[++i];
                case "--key" -> key = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        // Tomcat's base directory lives in the working directory (the caller's
        // temporary one): the oracle is killed, never shut down, and a
        // directory in the system's temp directory would outlive it.
        Path base = Files.createTempDirectory(Path.of("").toAbsolutePath(), "tomcat-base");
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(base.toString());
        Connector connector = new Connector("org.apache.coyote.http11.Http11NioProtocol");
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        if (cert != null) {
            connector.setScheme("https");
            connector.setSecure(true);
            connector.setProperty("SSLEnabled", "true");
            SSLHostConfig host = new SSLHostConfig();
            host.setSslProtocol("TLS");
            SSLHostConfigCertificate certificate =
                    new SSLHostConfigCertificate(host, SSLHostConfigCertificate.Type.UNDEFINED);
            certificate.setCertificateFile(Path.of(cert).toAbsolutePath().toString());
            certificate.setCertificateKeyFile(Path.of(key).toAbsolutePath().toString());
            host.addCertificate(certificate);
            connector.addSslHostConfig(host);
        }
        tomcat.getService().addConnector(connector);
        tomcat.setConnector(connector);
        Context context = tomcat.addContext("", base.toString());
        Tomcat.addServlet(context, "topology", new HttpServlet() {
            @Override
            protected void doGet(HttpServletRequest request, HttpServletResponse response)
                    throws IOException {
                response.setContentType("application/json");
                response.getWriter().write("{\"brokers\":[],\"clusterSize\":1}");
            }
        });
        context.addServletMappingDecoded("/v2/topology", "topology");
        try {
            tomcat.start();
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
        if (connector.getLocalPort() <= 0) {
            // Tomcat logs a connector that failed to start and goes on.
            System.err.println("the connector did not start");
            System.exit(1);
        }
        System.out.println("listening " + connector.getLocalPort() + " tomcat " + ServerInfo.getServerNumber());
        System.out.flush();
        tomcat.getServer().await();
    }
}
