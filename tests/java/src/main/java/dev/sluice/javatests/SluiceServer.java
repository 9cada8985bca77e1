package dev.sluice.javatests;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One `sluice serve` process on 127.0.0.1 and a free port, over its own data directory;
 * restartable on the same directory and port (clients reconnect to it).
 */
public final class SluiceServer implements AutoCloseable {
  private final Path sluice;
  private final Path data;
  private final Path logFile;
  private final List<String> extraArgs;
  private int port;
  private boolean startedOnce;
  private Process process;
  private final String external; // a running server's bootstrap (Main --bootstrap), else null

  SluiceServer(Path sluice, Path data, Path logFile, List<String> extraArgs) {
    this.sluice = sluice;
    this.data = data;
    this.logFile = logFile;
    this.extraArgs = List.copyOf(extraArgs);
    this.external = null;
  }

  private SluiceServer(String external) {
    this.sluice = null;
    this.data = null;
    this.logFile = null;
    this.extraArgs = List.of();
    this.external = external;
  }

  /** A server that is already running: start and close do nothing; stop and kill refuse. */
  static SluiceServer external(String bootstrap) {
    return new SluiceServer(bootstrap);
  }

  public Path data() {
    return data;
  }

  public String bootstrap() {
    return external != null ? external : "127.0.0.1:" + port;
  }

  /**
   * Starts the server and waits until it logs that it is serving. A free port is given back
   * before serve binds it, so another process may take it meanwhile: a first start moves on to
   * another port (restarts keep theirs).
   */
  public SluiceServer start() throws Exception {
    if (external != null) {
      return this;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
      if (port == 0 || (!startedOnce && attempt > 0)) {
        port = freePort();
      }
      if (tryStart()) {
        startedOnce = true;
        return this;
      }
      if (startedOnce || !log().contains("Address already in use")) {
        break;
      }
    }
    throw new AssertionError("sluice serve exited with " + process.exitValue() + "; log:\n" + log());
  }

  private boolean tryStart() throws Exception {
    String serving = "over the Kafka protocol on 127.0.0.1:" + port + " ";
    int before = count(log(), serving);
    List<String> cmd = new ArrayList<>(List.of(sluice.toString(), "serve", "--data",
        data.toString(), "--listen", bootstrap()));
    cmd.addAll(extraArgs);
    process = new ProcessBuilder(cmd).redirectErrorStream(true)
                  .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                  .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        return false;
      }
      if (count(log(), serving) > before) {
        return true;
      }
      Thread.sleep(50);
    }
    process.destroyForcibly();
    throw new AssertionError("sluice serve did not start listening; log:\n" + log());
  }

  /** SIGTERM, a clean stop; returns the exit status. */
  public int stop() throws Exception {
    Check.that(external == null, "this test stops its server: run it with --sluice");
    process.destroy();
    Check.that(process.waitFor(30, TimeUnit.SECONDS), "sluice serve did not stop on SIGTERM");
    return process.exitValue();
  }

  /** SIGKILL: no shutdown code runs. */
  public void kill9() throws Exception {
    Check.that(external == null, "this test kills its server: run it with --sluice");
    process.destroyForcibly();
    Check.that(process.waitFor(30, TimeUnit.SECONDS), "sluice serve did not die on SIGKILL");
  }

  public boolean alive() {
    return process != null && process.isAlive();
  }

  /** Everything the server has printed (all its runs). */
  public String log() throws IOException {
    return logFile != null && Files.exists(logFile) ? Files.readString(logFile) : "";
  }

  @Override
  public void close() throws Exception {
    if (alive()) {
      stop();
    }
  }

  private static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
