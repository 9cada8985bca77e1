package dev.sluice.javatests;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;

/**
 * The Java transactional producer (kafka-clients 4.4.0) against `sluice serve`: commit, abort,
 * zombie fencing, the last stable offset, and transactional offsets; read back with
 * read_committed and read_uncommitted consumers.
 */
public final class TransactionsTest implements AutoCloseable {
  private final SluiceServer server;
  private final Admin admin;

  public TransactionsTest(Env env) throws Exception {
    server = env.server("data", List.of()).start();
    admin = Clients.admin(server.bootstrap(), Map.of());
  }

  private KafkaProducer<String, String> txnProducer(String transactionalId) {
    KafkaProducer<String, String> p = Clients.producer(server.bootstrap(),
        Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId,
            ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60_000));
    p.initTransactions();
    return p;
  }

  private List<String> read(String topic, int partitions, String isolation) {
    return Clients.readAll(server.bootstrap(), Clients.partitions(topic, partitions), isolation,
        Map.of());
  }

  public void testCommittedTransactionIsReadByReadCommitted() throws Exception {
    Clients.createTopic(admin, "txn-commit", 2);
    List<String> sent = new ArrayList<>();
    try (KafkaProducer<String, String> p = txnProducer("txn-commit-app")) {
      p.beginTransaction();
      for (int i = 0; i < 20; i++) {
        String v = "v" + i;
        sent.add(v);
        p.send(new ProducerRecord<>("txn-commit", i % 2, "k" + i, v));
      }
      p.commitTransaction();
    }
    List<String> committed = read("txn-commit", 2, "read_committed");
    Check.equal(sorted(sent), sorted(committed), "read_committed values after commit");
  }

  public void testAbortedTransactionIsHiddenFromReadCommittedOnly() throws Exception {
    Clients.createTopic(admin, "txn-abort", 1);
    try (KafkaProducer<String, String> p = txnProducer("txn-abort-app")) {
      p.beginTransaction();
      for (int i = 0; i < 5; i++) {
        p.send(new ProducerRecord<>("txn-abort", "aborted-" + i));
      }
      p.flush(); // the records are in the log before the abort marker
      p.abortTransaction();
      p.beginTransaction();
      for (int i = 0; i < 5; i++) {
        p.send(new ProducerRecord<>("txn-abort", "committed-" + i));
      }
      p.commitTransaction();
    }
    Check.equal(List.of("committed-0", "committed-1", "committed-2", "committed-3",
                    "committed-4"),
        read("txn-abort", 1, "read_committed"), "read_committed after abort + commit");
    List<String> all = read("txn-abort", 1, "read_uncommitted");
    Check.equal(10, all.size(), "read_uncommitted sees aborted and committed records: " + all);
    Check.equal("aborted-0", all.get(0), "first record for read_uncommitted");
  }

  public void testSecondProducerWithTheSameTransactionalIdFencesTheFirst() throws Exception {
    Clients.createTopic(admin, "txn-fence", 1);
    KafkaProducer<String, String> zombie = txnProducer("txn-fence-app");
    try {
      zombie.beginTransaction();
      zombie.send(new ProducerRecord<>("txn-fence", "zombie-0")).get(30, TimeUnit.SECONDS);
      try (KafkaProducer<String, String> successor = txnProducer("txn-fence-app")) {
        // The successor's InitProducerId bumped the epoch and aborted the zombie's open
        // transaction; the zombie's commit (EndTxn with the old epoch) is refused as fenced.
        Check.throwsCause(ProducerFencedException.class, zombie::commitTransaction,
            "zombie's commit after a successor with the same transactional.id");
        // Fenced is fatal: the zombie cannot write again either.
        Check.throwsCause(ProducerFencedException.class,
            () -> zombie.send(new ProducerRecord<>("txn-fence", "zombie-1")).get(30,
                TimeUnit.SECONDS),
            "zombie's send after being fenced");
        successor.beginTransaction();
        successor.send(new ProducerRecord<>("txn-fence", "successor-0"));
        successor.commitTransaction();
      }
    } finally {
      zombie.close(Duration.ZERO);
    }
    Check.equal(List.of("successor-0"), read("txn-fence", 1, "read_committed"),
        "read_committed after fencing: only the successor's transaction");
  }

  public void testOpenTransactionHoldsBackReadCommittedUntilItCommits() throws Exception {
    Clients.createTopic(admin, "txn-lso", 1);
    TopicPartition tp = new TopicPartition("txn-lso", 0);
    try (KafkaProducer<String, String> txn = txnProducer("txn-lso-app");
         KafkaProducer<String, String> plain = Clients.producer(server.bootstrap(), Map.of());
         KafkaConsumer<String, String> committed = Clients.consumer(server.bootstrap(),
             Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
      plain.send(new ProducerRecord<>("txn-lso", "before")).get(30, TimeUnit.SECONDS);
      txn.beginTransaction();
      txn.send(new ProducerRecord<>("txn-lso", "in-txn")).get(30, TimeUnit.SECONDS);
      plain.send(new ProducerRecord<>("txn-lso", "after")).get(30, TimeUnit.SECONDS);
      committed.assign(List.of(tp));
      committed.seekToBeginning(List.of(tp));
      // The last stable offset is the open transaction's first offset (1): a read_committed
      // reader's end offset stops there and it gets only "before", however long it polls.
      Check.equal(1L, committed.endOffsets(List.of(tp)).get(tp), "LSO with an open transaction");
      List<String> seen = new ArrayList<>();
      while (committed.position(tp) < 1) {
        committed.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
      }
      for (int i = 0; i < 5; i++) {
        committed.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
      }
      Check.equal(List.of("before"), seen, "read_committed while the transaction is open");
      txn.commitTransaction();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (seen.size() < 3 && System.nanoTime() < deadline) {
        committed.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
      }
      Check.equal(List.of("before", "in-txn", "after"), seen, "read_committed after the commit");
    }
  }

  public void testOffsetsSentToTheTransactionCommitWithIt() throws Exception {
    Clients.createTopic(admin, "txn-in", 1);
    Clients.createTopic(admin, "txn-out", 1);
    TopicPartition in = new TopicPartition("txn-in", 0);
    try (KafkaProducer<String, String> plain = Clients.producer(server.bootstrap(), Map.of())) {
      for (int i = 0; i < 10; i++) {
        plain.send(new ProducerRecord<>("txn-in", "w" + i));
      }
      plain.flush();
    }
    String group = "txn-copier";
    try (KafkaProducer<String, String> p = txnProducer("txn-copier-app");
         KafkaConsumer<String, String> c = Clients.consumer(server.bootstrap(),
             Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
                 ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"))) {
      c.subscribe(List.of("txn-in"));
      List<ConsumerRecord<String, String>> batch = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (batch.size() < 10 && System.nanoTime() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(batch::add);
      }
      Check.equal(10, batch.size(), "records consumed from txn-in");
      // The group id alone (generation -1, no member id), as a producer that is not told the
      // consumer's membership sends it; testOffsetsWithTheConsumersGroupMetadata... sends
      // c.groupMetadata().
      ConsumerGroupMetadata meta = new ConsumerGroupMetadata(group);
      // First an aborted copy: neither its records nor its offsets may count.
      p.beginTransaction();
      for (ConsumerRecord<String, String> r : batch) {
        p.send(new ProducerRecord<>("txn-out", r.value().toUpperCase()));
      }
      p.sendOffsetsToTransaction(Map.of(in, new OffsetAndMetadata(10)), meta);
      p.abortTransaction();
      Check.that(!admin.listConsumerGroupOffsets(group)
                      .partitionsToOffsetAndMetadata()
                      .get(30, TimeUnit.SECONDS)
                      .containsKey(in),
          "an aborted transaction's offsets were committed");
      p.beginTransaction();
      for (ConsumerRecord<String, String> r : batch.subList(0, 6)) {
        p.send(new ProducerRecord<>("txn-out", r.value().toUpperCase()));
      }
      p.sendOffsetsToTransaction(Map.of(in, new OffsetAndMetadata(6)), meta);
      p.commitTransaction();
    }
    Map<TopicPartition, OffsetAndMetadata> offsets =
        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30,
            TimeUnit.SECONDS);
    Check.equal(6L, offsets.get(in).offset(), "group offset committed by the transaction");
    Check.equal(List.of("W0", "W1", "W2", "W3", "W4", "W5"), read("txn-out", 1, "read_committed"),
        "read_committed copy");
  }

  /**
   * sendOffsetsToTransaction(consumer.groupMetadata()) (TxnOffsetCommit v3, as Kafka Streams
   * sends it) commits with the transaction; the same offsets with a generation the group is not
   * at, or a member id it does not have, are refused (CommitFailedException, an abortable
   * error: the transaction aborts and the group's offset stays where the first commit put it).
   */
  public void testOffsetsWithTheConsumersGroupMetadataAndAFencedGeneration() throws Exception {
    Clients.createTopic(admin, "txn-meta-in", 1);
    TopicPartition in = new TopicPartition("txn-meta-in", 0);
    try (KafkaProducer<String, String> plain = Clients.producer(server.bootstrap(), Map.of())) {
      for (int i = 0; i < 4; i++) {
        plain.send(new ProducerRecord<>("txn-meta-in", "m" + i));
      }
      plain.flush();
    }
    String group = "txn-meta-group";
    try (KafkaProducer<String, String> p = txnProducer("txn-meta-app");
         KafkaConsumer<String, String> c = Clients.consumer(server.bootstrap(),
             Map.of(ConsumerConfig.GROUP_ID_CONFIG, group))) {
      c.subscribe(List.of("txn-meta-in"));
      int seen = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (seen < 4 && System.nanoTime() < deadline) {
        seen += c.poll(Duration.ofMillis(200)).count();
      }
      Check.equal(4, seen, "records consumed from txn-meta-in");
      ConsumerGroupMetadata meta = c.groupMetadata();
      Check.that(meta.generationId() > 0 && !meta.memberId().isEmpty(),
          "the consumer joined the group: " + meta);
      p.beginTransaction();
      p.sendOffsetsToTransaction(Map.of(in, new OffsetAndMetadata(3)), meta);
      p.commitTransaction();

      ConsumerGroupMetadata staleGeneration = new ConsumerGroupMetadata(group,
          meta.generationId() + 1, meta.memberId(), meta.groupInstanceId());
      ConsumerGroupMetadata unknownMember = new ConsumerGroupMetadata(group,
          meta.generationId(), "not-a-member", meta.groupInstanceId());
      for (ConsumerGroupMetadata fenced : List.of(staleGeneration, unknownMember)) {
        p.beginTransaction();
        Check.throwsCause(CommitFailedException.class,
            () -> p.sendOffsetsToTransaction(Map.of(in, new OffsetAndMetadata(4)), fenced),
            "offsets sent with " + fenced);
        p.abortTransaction();
      }
    }
    Map<TopicPartition, OffsetAndMetadata> offsets =
        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30,
            TimeUnit.SECONDS);
    Check.equal(3L, offsets.get(in).offset(), "group offset after the refused commits");
  }

  private static List<String> sorted(List<String> values) {
    List<String> s = new ArrayList<>(values);
    s.sort(null);
    return s;
  }

  @Override
  public void close() throws Exception {
    admin.close(Duration.ofSeconds(5));
    server.close();
  }
}
