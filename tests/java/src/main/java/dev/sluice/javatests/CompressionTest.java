package dev.sluice.javatests;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Issue 12 "all four codecs from every client read back by every other client and by sluice
 * consume", for the Java client: batches the Java producer compresses with each codec are stored
 * compressed and read back by the Java consumer, by kcat and, with the server stopped, by
 * `sluice consume`; batches kcat compresses are read back by the Java consumer.
 */
public final class CompressionTest implements AutoCloseable {
  private static final String[] CODECS = {"gzip", "snappy", "lz4", "zstd"};
  private final Env env;
  private final SluiceServer server;

  public CompressionTest(Env env) throws Exception {
    this.env = env;
    server = env.server("data", List.of()).start();
  }

  private static List<String> values() {
    List<String> values = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      values.add("value-" + i + "-" + "abcdefghij".repeat(10));
    }
    return values;
  }

  private void produceWithJava(String topic, String codec, List<String> values) throws Exception {
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(),
             Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                 ProducerConfig.LINGER_MS_CONFIG, 200,
                 ProducerConfig.BATCH_SIZE_CONFIG, 1 << 20))) {
      for (String v : values) {
        p.send(new ProducerRecord<>(topic, 0, null, v));
      }
      p.flush();
    }
  }

  private long bytesOnDisk(String topic) throws Exception {
    try (Stream<Path> files = Files.list(server.data().resolve("topics").resolve(topic)
                                            .resolve("0"))) {
      long n = 0;
      for (Path f : files.filter(f -> f.toString().endsWith(".log")).toList()) {
        n += Files.size(f);
      }
      return n;
    }
  }

  private static List<String> lines(String text) {
    return text.isEmpty() ? List.of() : List.of(text.split("\n"));
  }

  public void testEveryCodecFromJavaAndKcatIsReadByTheOthersAndBySluiceConsume()
      throws Exception {
    List<String> values = values();
    try (Admin admin = Clients.admin(server.bootstrap(), Map.of())) {
      Clients.createTopic(admin, "zj-none", 1);
      for (String c : CODECS) {
        Clients.createTopic(admin, "zj-" + c, 1);
        Clients.createTopic(admin, "zk-" + c, 1);
      }
    }
    produceWithJava("zj-none", "none", values);
    for (String c : CODECS) {
      produceWithJava("zj-" + c, c, values);
      Check.equal(values, Clients.readAll(server.bootstrap(), Clients.partitions("zj-" + c, 1),
          "read_uncommitted", Map.of()), "the Java consumer reads Java's " + c + " batches");
      String kcatRead = Env.run(List.of("kcat", "-b", server.bootstrap(), "-C", "-t", "zj-" + c,
          "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\\n"), null);
      Check.equal(values, lines(kcatRead), "kcat reads Java's " + c + " batches");
      Env.run(List.of("kcat", "-b", server.bootstrap(), "-P", "-t", "zk-" + c, "-p", "0", "-z", c,
          "-X", "linger.ms=200"), String.join("\n", values) + "\n");
      Check.equal(values, Clients.readAll(server.bootstrap(), Clients.partitions("zk-" + c, 1),
          "read_uncommitted", Map.of()), "the Java consumer reads kcat's " + c + " batches");
    }
    Check.equal(0, server.stop(), "clean stop");
    long plain = bytesOnDisk("zj-none");
    for (String c : CODECS) {
      long stored = bytesOnDisk("zj-" + c);
      Check.that(stored * 3 < plain, "Java's " + c + " batches are stored compressed: " + stored
          + " bytes against " + plain + " uncompressed");
      String data = server.data().toString();
      Check.equal(values, lines(env.sluice(null, "--data", data, "consume", "zj-" + c,
          "--from-beginning")), "sluice consume reads Java's " + c + " batches");
    }
  }

  @Override
  public void close() throws Exception {
    server.close();
  }
}
