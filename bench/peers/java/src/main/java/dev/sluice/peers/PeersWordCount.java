package dev.sluice.peers;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The word count of bench/peers/run.sh as a Kafka Streams 4.4 application, exactly_once_v2:
 * lines split on non-word characters and lower-cased, re-keyed by word (a repartition topic),
 * counted in a RocksDB store (a changelog topic), every count update to OUTPUT (the record cache
 * is off, so one output record per input word, as `sluice run wordcount` writes).
 *
 * <pre>PeersWordCount BOOTSTRAP STATE_DIR INPUT OUTPUT APP_ID EXPECTED_OUTPUT_RECORDS THREADS</pre>
 *
 * Timing starts just before KafkaStreams.start() (the JVM is up) and ends when the application's
 * committed offsets reach the end of every INPUT partition and then of every partition of its
 * repartition topic (so every word is counted and its output committed; polled through the
 * Admin client every 50 ms, which is the run's only other work in this JVM). Then it closes the application
 * and reads OUTPUT with a read_committed consumer, untimed: exit status 1 unless it holds exactly
 * EXPECTED_OUTPUT_RECORDS records. Prints one line: seconds=S cpu_s=C output_records=N, where
 * cpu_s is this JVM's CPU time (all threads) over the timed part.
 */
public final class PeersWordCount {
  public static void main(String[] args) throws Exception {
    if (args.length != 7) {
      System.err.println(
          "usage: PeersWordCount BOOTSTRAP STATE_DIR INPUT OUTPUT APP_ID EXPECTED_OUTPUT_RECORDS THREADS");
      System.exit(2);
    }
    String bootstrap = args[0];
    String input = args[2];
    String output = args[3];
    String appId = args[4];
    long expected = Long.parseLong(args[5]);

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[1]);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args[6]));
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(line -> List.of(line.toLowerCase(Locale.ROOT).split("\\W+")))
        .filter((key, word) -> !word.isEmpty())
        .groupBy((key, word) -> word, Grouped.with("by-word", Serdes.String(), Serdes.String()))
        .count(Materialized.as("counts"))
        .toStream()
        .mapValues(Object::toString)
        .to(output, Produced.with(Serdes.String(), Serdes.String()));

    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    double seconds;
    double cpu;
    try (Admin admin = Admin.create(ap)) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      int partitions =
          admin.describeTopics(List.of(input)).allTopicNames().get().get(input).partitions().size();
      for (int i = 0; i < partitions; ++i) latest.put(new TopicPartition(input, i), OffsetSpec.latest());
      Map<TopicPartition, Long> ends = new HashMap<>();
      admin.listOffsets(latest).all().get().forEach((tp, info) -> ends.put(tp, info.offset()));

      Map<TopicPartition, Long> repartitionEnds = new HashMap<>();
      KafkaStreams streams = new KafkaStreams(builder.build(), p);
      streams.setUncaughtExceptionHandler(e -> {
        failure.compareAndSet(null, e);
        return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
            .StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      long cpu0 = os.getProcessCpuTime();
      long t0 = System.nanoTime();
      streams.start();
      long deadline = t0 + Duration.ofMinutes(10).toNanos();
      while (true) {
        if (failure.get() != null || streams.state() == KafkaStreams.State.ERROR) {
          System.err.println("PeersWordCount: the application failed: " + failure.get());
          System.exit(1);
        }
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(appId).partitionsToOffsetAndMetadata().get();
        boolean done = reached(committed, ends, 0);
        if (done && repartitionEnds.isEmpty()) {
          // Every line is consumed and what it wrote to the repartition topic is committed in
          // the same transactions, so the repartition topic's end is final now.
          String repartition = appId + "-by-word-repartition";
          Map<TopicPartition, OffsetSpec> spec = new HashMap<>();
          for (int i = 0; i < partitions; ++i) {
            spec.put(new TopicPartition(repartition, i), OffsetSpec.latest());
          }
          admin.listOffsets(spec).all().get()
              .forEach((tp, info) -> repartitionEnds.put(tp, info.offset()));
        }
        // The repartition topic is written in transactions: its end is one past the last
        // commit marker, the committed offset one past the last record.
        done = done && reached(committed, repartitionEnds, 1);
        if (done) break;
        if (System.nanoTime() > deadline) {
          System.err.println("PeersWordCount: not done after 10 minutes; committed " + committed
              + ", input ends " + ends);
          System.exit(1);
        }
        Thread.sleep(50);
      }
      seconds = (System.nanoTime() - t0) / 1e9;
      cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
      streams.close(Duration.ofSeconds(60));
    }

    long count = 0;
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp)) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer.partitionsFor(output).forEach(pi -> parts.add(new TopicPartition(output, pi.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> ends = consumer.endOffsets(parts);
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      while (true) {
        boolean done = true;
        for (TopicPartition tp : parts) {
          if (consumer.position(tp) < ends.get(tp)) done = false;
        }
        if (done || System.nanoTime() > deadline) break;
        count += consumer.poll(Duration.ofMillis(200)).count();
      }
    }
    System.out.printf(Locale.ROOT, "seconds=%.3f cpu_s=%.3f output_records=%d%n", seconds, cpu, count);
    if (count != expected) {
      System.err.println("PeersWordCount: " + output + " holds " + count
          + " committed records; expected " + expected + " (one per input word)");
      System.exit(1);
    }
    System.exit(0);
  }

  /** True if every partition in ends has a committed offset at least its end minus slack. */
  private static boolean reached(Map<TopicPartition, OffsetAndMetadata> committed,
      Map<TopicPartition, Long> ends, long slack) {
    for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
      if (e.getValue() == 0) continue;
      OffsetAndMetadata c = committed.get(e.getKey());
      if (c == null || c.offset() < e.getValue() - slack) return false;
    }
    return true;
  }
}
