package dev.sluice.javatests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** What a test class gets: the sluice binary and a temporary directory of its own. */
public final class Env {
  public final Path sluice; // null with --bootstrap
  private final String externalBootstrap;
  public final Path work;

  Env(Path sluice, String externalBootstrap, Path work) {
    this.sluice = sluice;
    this.externalBootstrap = externalBootstrap;
    this.work = work;
  }

  /** A fresh server over WORK/NAME (not started), or the --bootstrap server. */
  public SluiceServer server(String name, List<String> extraArgs) {
    if (externalBootstrap != null) {
      return SluiceServer.external(externalBootstrap);
    }
    return new SluiceServer(sluice, work.resolve(name), work.resolve(name + "-serve.log"),
        extraArgs);
  }

  /** Runs `sluice ARGS` with STDIN; fails the test unless it exits 0. Returns its output. */
  public String sluice(String stdin, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(sluice.toString());
    cmd.addAll(List.of(args));
    return run(cmd, stdin);
  }

  /** Runs a command with STDIN; fails the test unless it exits 0 within a minute. */
  public static String run(List<String> cmd, String stdin) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes());
    }
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    Check.that(p.waitFor(60, TimeUnit.SECONDS), "command did not exit: " + cmd);
    Check.that(p.exitValue() == 0,
        "command " + cmd + " exited " + p.exitValue() + ": " + new String(out));
    return new String(out);
  }

  void deleteWork() throws IOException {
    try (Stream<Path> files = Files.walk(work)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }
}
