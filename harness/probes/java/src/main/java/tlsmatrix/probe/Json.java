package tlsmatrix.probe;

/**
 * JSON string literals for the probes' one-line answers: the Java client probe and the
 * netty-oracle (whose class path is its release's runtime, without a JSON library).
 */
final class Json {

  private Json() {}

  /** {@code s} as a JSON string literal ({@code null} when null). */
  static String string(final String s) {
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
