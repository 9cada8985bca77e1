package dev.sluice.javatests.streams;

import dev.sluice.javatests.Check;
import dev.sluice.javatests.Clients;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Exactly-once check of {@link WordCountApp} (Kafka Streams 4.4, exactly_once_v2) on
 * `sluice serve`:
 *
 * <pre>WordCountHarness --sluice PATH [--seed N] [--rounds N]
 *     WordCountHarness --bootstrap HOST:PORT [--guarantee G] [--seed N] [--rounds N]</pre>
 *
 * Starts a server, writes lines of random words to wc-input in rounds (the oracle counts every
 * word), runs the app as its own JVM and kill -9s it at a random moment of every round (the
 * server once, in the middle round), then lets the last instance run and reads wc-output with
 * read_committed: every word's last count must equal the oracle's, and no count may be above it
 * (a count above the oracle is a record processed twice). Prints the seed; exits 1 on a failure
 * and keeps the work directory (server log, app logs).
 *
 * <p>With --bootstrap it uses a running Kafka-compatible server instead (to check the harness
 * against Apache Kafka, scripts/kafka-cluster.sh; nothing kills that server), and --guarantee
 * at_least_once runs the app without transactions, which the oracle must catch.
 */
public final class WordCountHarness {
  private static final String[] WORDS = {"the", "cat", "dog", "sat", "on", "a", "mat", "log",
      "stream", "sluice", "kafka", "exactly", "once", "word", "count", "state"};

  public static void main(String[] args) throws Exception {
    String sluice = null;
    String bootstrap = null;
    String guarantee = "exactly_once_v2";
    long seed = System.nanoTime();
    int rounds = 5;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--sluice" -> sluice = args[++i];
        case "--bootstrap" -> bootstrap = args[++i];
        case "--guarantee" -> guarantee = args[++i];
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    Check.that(sluice != null || bootstrap != null,
        "usage: WordCountHarness --sluice PATH | --bootstrap HOST:PORT [--guarantee G]"
            + " [--seed N] [--rounds N]");
    System.out.println("seed " + seed + " (replay with --seed " + seed + ")");
    Random random = new Random(seed);
    Path work = Files.createTempDirectory("sluice-streams-eos-");
    var env = new Harness(sluice == null ? null : Path.of(sluice), bootstrap, guarantee, work);
    boolean ok = false;
    try {
      ok = env.run(random, rounds);
    } finally {
      env.close();
      System.out.println((ok ? "1 passed, 0 failed" : "0 passed, 1 failed"));
      if (ok) {
        deleteTree(work); // kept only when a run fails, to be looked at
      } else {
        System.out.println("work directory: " + work);
      }
    }
    System.exit(ok ? 0 : 1);
  }

  /** Removes `dir` and everything under it. */
  static void deleteTree(Path dir) throws java.io.IOException {
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The server, the app process and the oracle. */
  static final class Harness implements AutoCloseable {
    final dev.sluice.javatests.SluiceServer server; // null with --bootstrap
    final String externalBootstrap;
    final String guarantee;
    final Path work;
    final Map<String, Long> oracle = new TreeMap<>();
    Process app;
    int appRuns;

    Harness(Path sluice, String bootstrap, String guarantee, Path work) throws Exception {
      this.work = work;
      this.externalBootstrap = bootstrap;
      this.guarantee = guarantee;
      server = sluice == null ? null : dev.sluice.javatests.TestAccess.server(sluice, work);
    }

    String bootstrap() {
      return server == null ? externalBootstrap : server.bootstrap();
    }

    boolean run(Random random, int rounds) throws Exception {
      if (server != null) {
        server.start();
      }
      try (Admin admin = Clients.admin(bootstrap(), Map.of())) {
        Clients.createTopic(admin, WordCountApp.INPUT, 3);
        Clients.createTopic(admin, WordCountApp.OUTPUT, 3);
      }
      try (KafkaProducer<String, String> input = Clients.producer(bootstrap(),
               Map.of())) {
        for (int round = 0; round < rounds; round++) {
          startApp();
          // Lines arrive in chunks of ten every 100-150 ms; the app is killed at a random chunk
          // of the second half (Streams takes a few seconds to join and restore), so while
          // lines are arriving and being counted, between its transactions' writes and their
          // commits. The rest of the round's lines wait for the next instance.
          int chunks = 50 + random.nextInt(30);
          int killChunk = chunks / 2 + random.nextInt(chunks / 2);
          int lines = 0;
          for (int chunk = 0; chunk < chunks; chunk++) {
            for (int i = 0; i < 10; i++, lines++) {
              StringBuilder line = new StringBuilder();
              int n = 1 + random.nextInt(8);
              for (int w = 0; w < n; w++) {
                String word = WORDS[random.nextInt(WORDS.length)];
                oracle.merge(word, 1L, Long::sum);
                line.append(w == 0 ? "" : " ").append(word);
              }
              input.send(new ProducerRecord<>(WordCountApp.INPUT, "line-" + round + "-" + lines,
                  line.toString()));
            }
            input.flush(); // acks=all: every line counted by the oracle is in the log
            Thread.sleep(100 + random.nextInt(50));
            if (chunk != killChunk) {
              continue;
            }
            if (!app.isAlive()) {
              System.out.println("FAIL: the app exited by itself with " + app.exitValue()
                  + "; its log:\n" + appLog());
              return false;
            }
            System.out.println("round " + round + ": kill -9 of the app after " + (lines + 10)
                + " lines");
            app.destroyForcibly();
            app.waitFor(30, TimeUnit.SECONDS);
            if (round == rounds / 2 && server != null) {
              System.out.println("round " + round + ": kill -9 of sluice serve");
              server.kill9();
              server.start();
            }
          }
        }
      }
      startApp();
      return converged();
    }

    void startApp() throws Exception {
      appRuns++;
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      app = new ProcessBuilder(java, "-Xmx256m",
          "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
          System.getProperty("java.class.path"), WordCountApp.class.getName(),
          bootstrap(), work.resolve("app-state").toString(), guarantee)
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("app-" + appRuns + ".log").toFile())
                .start();
    }

    String appLog() throws Exception {
      return Files.readString(work.resolve("app-" + appRuns + ".log"));
    }

    /** Reads wc-output (read_committed) until the counts equal the oracle's, bounded. */
    boolean converged() throws Exception {
      Map<String, Long> last = new HashMap<>();
      List<String> over = new ArrayList<>();
      try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(Clients.base(bootstrap(),
               Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                   ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                   ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class)))) {
        List<TopicPartition> tps = Clients.partitions(WordCountApp.OUTPUT, 3);
        c.assign(tps);
        c.seekToBeginning(tps);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
          for (ConsumerRecord<String, Long> r : c.poll(Duration.ofMillis(500))) {
            last.put(r.key(), r.value());
            long expected = oracle.getOrDefault(r.key(), 0L);
            if (r.value() > expected) {
              over.add(r.key() + "=" + r.value() + " (oracle " + expected + ")");
            }
          }
          if (!over.isEmpty()) {
            System.out.println("FAIL: counts above the oracle (records counted twice): " + over);
            return false;
          }
          if (last.equals(oracle)) {
            System.out.println("exactly once: " + oracle.size() + " words, "
                + oracle.values().stream().mapToLong(Long::longValue).sum()
                + " counted, every final count equals the oracle's (" + appRuns
                + " app instances, " + (appRuns - 1) + " killed)");
            return true;
          }
          if (!app.isAlive()) {
            System.out.println("FAIL: the app exited with " + app.exitValue() + "; its log:\n"
                + appLog());
            return false;
          }
        }
      }
      System.out.println("FAIL: counts did not reach the oracle within 180 s\n  oracle: " + oracle
          + "\n  output: " + new TreeMap<>(last) + "\n  app log:\n" + appLog());
      return false;
    }

    @Override
    public void close() throws Exception {
      if (app != null && app.isAlive()) {
        app.destroy();
        if (!app.waitFor(30, TimeUnit.SECONDS)) {
          app.destroyForcibly();
        }
      }
      if (server != null) {
        server.close();
      }
    }
  }
}
