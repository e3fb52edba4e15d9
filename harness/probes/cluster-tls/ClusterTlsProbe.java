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
 *
 *    or: ... ClusterTlsProbe.java --mixed tls-server|plain-server CHAIN KEY
 * Runs a real Netty server and client over loopback, one side with TLS and the
 * other without, each writing/reading Zeebe's 6-byte preamble like
 * NettyMessagingService's handshake handlers (which do not handle exceptions
 * on the server side), and prints what each side sees; Netty's own warnings
 * go to stderr (java.util.logging).
 * A SERVER_CHAIN or DIALLER_CHAIN ending in .p12 is a PKCS#12 keystore, read as Zeebe 8.6's
 * NettyMessagingService reads keyStore.filePath (TlsConfigUtil): opened with the password in
 * TLSMATRIX_STORE_PASS (none: ""), the first alias's key and chain served
 * (SslContextBuilder.forServer(key, chain)), that same chain trusted when dialling
 * (trustManager(chain)); SERVER_KEY is then not read. A server store that fails is wrapped
 * as loadServerSslContext wraps it.
 * run.sh builds the classpath; README.md lists what it measured.
 */
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.File;
import java.io.FileInputStream;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Objects;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;

public class ClusterTlsProbe {
  static String storePassword() {
    return Objects.toString(System.getenv("TLSMATRIX_STORE_PASS"), "");
  }
  static KeyStore store(String path) throws Exception {
    final KeyStore ks = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(path)) {
      ks.load(in, storePassword().toCharArray());
    } catch (Exception e) {
      throw new IllegalStateException(String.format(
          "Keystore failed to load file: %s, please ensure it is a valid PKCS12 keystore",
          new File(path).toPath()), e);
    }
    return ks;
  }
  static X509Certificate[] chainOf(KeyStore ks) throws Exception {
    final String alias = ks.aliases().nextElement();
    return Arrays.stream(ks.getCertificateChain(alias))
        .map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
  }
  static SslContextBuilder serverBuilder(String chain, String key) throws Exception {
    if (!chain.endsWith(".p12")) return SslContextBuilder.forServer(new File(chain), new File(key));
    try {
      final KeyStore ks = store(chain);
      final PrivateKey pk = (PrivateKey) ks.getKey(ks.aliases().nextElement(), storePassword().toCharArray());
      return SslContextBuilder.forServer(pk, chainOf(ks));
    } catch (Exception e) {
      throw new IllegalStateException("Failed to start messaging service; invalid server TLS configuration", e);
    }
  }
  static SslContextBuilder clientBuilder(String chain) throws Exception {
    return chain.endsWith(".p12")
        ? SslContextBuilder.forClient().trustManager(chainOf(store(chain)))
        : SslContextBuilder.forClient().trustManager(new File(chain));
  }
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
  static final int PREAMBLE = "zeebe-cluster".hashCode();

  static void mixed(boolean tlsServer, String chain, String key) throws Exception {
    final SslContext server = tlsServer
        ? SslContextBuilder.forServer(new File(chain), new File(key))
            .sslProvider(SslProvider.OPENSSL_REFCNT).protocols("TLSv1.3").build()
        : null;
    final SslContext client = tlsServer ? null
        : SslContextBuilder.forClient().trustManager(new File(chain))
            .sslProvider(SslProvider.OPENSSL_REFCNT).protocols("TLSv1.3").build();
    EventLoopGroup group = new NioEventLoopGroup(2);
    try {
      Channel listening = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override protected void initChannel(SocketChannel ch) {
              if (server != null) ch.pipeline().addLast("tls", server.newHandler(ch.alloc()));
              ch.pipeline().addLast("handshake", new ChannelInboundHandlerAdapter() {
                @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
                  ByteBuf b = (ByteBuf) msg;
                  int preamble = b.readInt();
                  b.release();
                  if (preamble != PREAMBLE) {
                    System.out.println("server: Received invalid handshake, closing connection");
                    ctx.close();
                  } else {
                    System.out.println("server: preamble ok");
                  }
                }
              });
            }
          }).bind("127.0.0.1", 0).sync().channel();
      CompletableFuture<String> seen = new CompletableFuture<>();
      new Bootstrap().group(group).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override protected void initChannel(SocketChannel ch) {
              if (client != null) ch.pipeline().addLast("tls", client.newHandler(ch.alloc()));
              ch.pipeline().addLast("handshake", new ChannelInboundHandlerAdapter() {
                @Override public void channelActive(ChannelHandlerContext ctx) {
                  ByteBuf b = ctx.alloc().buffer(6);
                  b.writeInt(PREAMBLE);
                  b.writeShort(1);
                  ctx.writeAndFlush(b);
                }
                @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
                  System.out.println("client: exceptionCaught: " + describe(t));
                  for (Throwable s : t.getSuppressed()) System.out.println("client:   suppressed: " + describe(s));
                }
                @Override public void channelInactive(ChannelHandlerContext ctx) {
                  seen.complete("client: channel closed by the server");
                }
              });
            }
          }).connect(listening.localAddress()).sync();
      System.out.println(seen.get(10, TimeUnit.SECONDS));
      Thread.sleep(300);
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  public static void main(String[] a) throws Exception {
    if (a[0].equals("--mixed")) { mixed(a[1].equals("tls-server"), a[2], a[3]); return; }
    // a[0] server chain, a[1] server key, a[2] client (dialler) chain
    SslContext server, client;
    try {
      server = serverBuilder(a[0], a[1])
          .sslProvider(SslProvider.OPENSSL_REFCNT).protocols("TLSv1.3").build();
    } catch (Throwable t) { System.out.println("server-context: " + describe(t)); return; }
    try {
      client = clientBuilder(a[2])
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
