/*
 * One TLS handshake between two cluster nodes, with the SSL contexts built
 * exactly as Zeebe's NettyMessagingService builds them (loadServerSslContext /
 * loadClientSslContext): SslContextBuilder.forServer(chain, key) and
 * SslContextBuilder.forClient().trustManager(chain), provider OPENSSL_REFCNT
 * (BoringSSL via netty-tcnative), protocols TLSv1.3; engines created with
 * newEngine(alloc), i.e. without a peer host, as newHandler(channel.alloc()).
 *
 * Usage: java -cp NETTY_JARS ClusterTlsProbe.java SERVER_CHAIN SERVER_KEY DIALLER_CHAIN
 * Prints "handshake: ok TLSv1.3", or the context that could not be built, or
 * the client's (dialling node's) and the server's exception chains.
 * run.sh builds the classpath; README.md lists what it measured.
 */
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.File;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;

public class ClusterTlsProbe {
  static String describe(Throwable t) {
    StringBuilder sb = new StringBuilder(t.toString());
    Throwable c = t.getCause();
    while (c != null) { sb.append(" | caused by ").append(c.toString()); c = c.getCause(); }
    return sb.toString();
  }
  static void tasks(SSLEngine e) { Runnable r; while ((r = e.getDelegatedTask()) != null) r.run(); }
  static boolean done(SSLEngine e) {
    HandshakeStatus h = e.getHandshakeStatus();
    return h == HandshakeStatus.NOT_HANDSHAKING || h == HandshakeStatus.FINISHED;
  }
  public static void main(String[] a) throws Exception {
    // a[0] server chain, a[1] server key, a[2] client (dialler) chain
    SslContext server, client;
    try {
      server = SslContextBuilder.forServer(new File(a[0]), new File(a[1]))
          .sslProvider(SslProvider.OPENSSL_REFCNT).protocols("TLSv1.3").build();
    } catch (Throwable t) { System.out.println("server-context: " + describe(t)); return; }
    try {
      client = SslContextBuilder.forClient().trustManager(new File(a[2]))
          .sslProvider(SslProvider.OPENSSL_REFCNT).protocols("TLSv1.3").build();
    } catch (Throwable t) { System.out.println("client-context: " + describe(t)); return; }
    SSLEngine c = client.newEngine(ByteBufAllocator.DEFAULT);
    SSLEngine s = server.newEngine(ByteBufAllocator.DEFAULT);
    ByteBuffer c2s = ByteBuffer.allocate(1 << 17), s2c = ByteBuffer.allocate(1 << 17);
    ByteBuffer app = ByteBuffer.allocate(1 << 17), empty = ByteBuffer.allocate(0);
    String cErr = null, sErr = null;
    c.beginHandshake(); s.beginHandshake();
    for (int i = 0; i < 50; i++) {
      try { c.wrap(empty, c2s); tasks(c); } catch (Throwable t) { if (cErr == null) cErr = describe(t); }
      c2s.flip();
      try { s.unwrap(c2s, app); tasks(s); } catch (Throwable t) { if (sErr == null) sErr = describe(t); }
      c2s.compact();
      try { s.wrap(empty, s2c); tasks(s); } catch (Throwable t) { if (sErr == null) sErr = describe(t); }
      s2c.flip();
      try { c.unwrap(s2c, app); tasks(c); } catch (Throwable t) { if (cErr == null) cErr = describe(t); }
      s2c.compact();
      if (cErr == null && sErr == null && done(c) && done(s)) { System.out.println("handshake: ok " + c.getSession().getProtocol()); return; }
      if (c.isOutboundDone() && s.isOutboundDone()) break;
    }
    System.out.println("client: " + cErr);
    System.out.println("server: " + sErr);
  }
}
