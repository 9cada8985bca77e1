package dev.sluice.javatests;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Issue 16 item 11 over the wire: with the data directory's `producer-ids` file lost (deleted
 * while the server is stopped), a restarted server must not hand a new idempotent producer an
 * id the log already holds. If it did, the new producer's first sequences look like duplicates
 * of the old producer's and are acknowledged without being written. Every acknowledged record
 * must be in the log.
 */
public final class ProducerIdsTest implements AutoCloseable {
  private final SluiceServer server;

  public ProducerIdsTest(Env env) throws Exception {
    server = env.server("data", List.of()).start();
  }

  private List<String> produce(String prefix, int n) throws Exception {
    List<String> acked = new ArrayList<>();
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(),
             Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true))) {
      for (int i = 0; i < n; i++) {
        String v = prefix + i;
        RecordMetadata md = p.send(new ProducerRecord<>("pids", 0, "k", v)).get(30,
            TimeUnit.SECONDS);
        Check.that(md.hasOffset(), "acknowledged without an offset: " + v);
        acked.add(v);
      }
    }
    return acked;
  }

  public void testLostProducerIdsFileDoesNotReuseIdsOrDropAcknowledgedRecords()
      throws Exception {
    // Three single-record batches per producer: a new producer given a reused id sends
    // sequences 0-2 again, which the partition's duplicate window (the last five batches of
    // each producer) would take for retries of the old producer's batches.
    List<String> acked = new ArrayList<>(produce("first-", 3));
    Check.equal(0, server.stop(), "clean stop");
    Files.delete(server.data().resolve("producer-ids"));
    server.start();
    acked.addAll(produce("second-", 3));
    // And once more after a kill -9, with the file gone again.
    server.kill9();
    Files.deleteIfExists(server.data().resolve("producer-ids"));
    server.start();
    acked.addAll(produce("third-", 3));
    List<String> log = Clients.readAll(server.bootstrap(), Clients.partitions("pids", 1),
        "read_uncommitted", Map.of());
    Check.equal(acked, log, "the log holds every acknowledged record, in order");
  }

  @Override
  public void close() throws Exception {
    server.close();
  }
}
