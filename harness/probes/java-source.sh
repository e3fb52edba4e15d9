# Shared by the single-file Java probes (cluster-tls, rest-tls): compiles
# NAME.java once into DIR/target/classes, again only when the source is newer,
# so a run starts `java -cp ... NAME` instead of the source launcher
# (`java NAME.java` compiles the file in every JVM it starts: about 1.5 s of
# CPU per run on a 2-core machine). Concurrent first runs race harmlessly:
# each compiles into a directory of its own and renames the class files into
# place, and every one compiles the same source.
# Usage: compile_source DIR NAME CLASSPATH   (sets $classes)
compile_source() {
  local dir="$1" name="$2" cp="$3"
  classes="$dir/target/classes"
  if [[ -f "$classes/$name.class" && ! "$dir/$name.java" -nt "$classes/$name.class" ]]; then
    return 0
  fi
  mkdir -p "$classes"
  local tmp
  tmp="$(mktemp -d "$dir/target/javac.XXXXXX")"
  javac -nowarn -d "$tmp" -cp "$cp" "$dir/$name.java" >&2
  mv -f "$tmp"/*.class "$classes/"
  rmdir "$tmp"
}
