package dev.sluice.javatests;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Client configurations and small helpers shared by the test classes. */
public final class Clients {
  private Clients() {}

  /** Settings every client gets: the server, short timeouts so a failure shows quickly. */
  public static Properties base(String bootstrap, Map<String, Object> extra) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 20_000);
    p.putAll(extra);
    return p;
  }

  public static KafkaProducer<String, String> producer(String bootstrap,
      Map<String, Object> extra) {
    Properties p = base(bootstrap, Map.of());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 1);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    p.remove(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
    p.putAll(extra);
    return new KafkaProducer<>(p);
  }

  public static KafkaConsumer<String, String> consumer(String bootstrap,
      Map<String, Object> extra) {
    Properties p = base(bootstrap, Map.of());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    p.putAll(extra);
    return new KafkaConsumer<>(p);
  }

  public static Admin admin(String bootstrap, Map<String, Object> extra) {
    return Admin.create(base(bootstrap, extra));
  }

  public static void createTopic(Admin admin, String name, int partitions) throws Exception {
    admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1)))
        .all()
        .get(30, TimeUnit.SECONDS);
  }

  /**
   * Reads PARTITIONS from the beginning (assigned, no group) until it has seen EXPECTED records
   * or the end offsets it found at the start and nothing more for a while; returns the values in
   * offset order per partition, partitions in the order given.
   */
  public static List<String> readAll(String bootstrap, Collection<TopicPartition> partitions,
      String isolation, Map<String, Object> extra) {
    java.util.HashMap<String, Object> conf = new java.util.HashMap<>(extra);
    conf.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> c = consumer(bootstrap, conf)) {
      c.assign(partitions);
      c.seekToBeginning(partitions);
      // For read_committed, endOffsets is the last stable offset: everything below it is
      // decided, so reading up to it reads every committed record.
      Map<TopicPartition, Long> end = c.endOffsets(partitions, Duration.ofSeconds(30));
      java.util.Map<TopicPartition, List<String>> byPartition = new java.util.HashMap<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!reached(c, end) && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          byPartition.computeIfAbsent(new TopicPartition(r.topic(), r.partition()),
                         k -> new ArrayList<>())
              .add(r.value());
        }
      }
      Check.that(reached(c, end), "did not reach the end offsets " + end + " within 60 s");
      for (TopicPartition tp : partitions) {
        values.addAll(byPartition.getOrDefault(tp, List.of()));
      }
    }
    return values;
  }

  private static boolean reached(KafkaConsumer<String, String> c,
      Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
      if (c.position(e.getKey(), Duration.ofSeconds(30)) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  public static List<TopicPartition> partitions(String topic, int n) {
    List<TopicPartition> tps = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      tps.add(new TopicPartition(topic, i));
    }
    return tps;
  }
}
