package dev.sluice.javatests;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.InvalidConfigurationException;

/**
 * The Admin calls of issue 12 that AdminTest does not cover: describeConfigs,
 * incrementalAlterConfigs (SET, DELETE, an unknown key), createTopics with
 * cleanup.policy=compact, deleteRecords, deleteConsumerGroups, deleteConsumerGroupOffsets and
 * describeCluster.
 */
public final class AdminConfigsTest implements AutoCloseable {
  private final SluiceServer server;
  private final Admin admin;

  public AdminConfigsTest(Env env) throws Exception {
    server = env.server("data", List.of("--no-auto-create")).start();
    admin = Clients.admin(server.bootstrap(), Map.of());
  }

  private Config describe(ConfigResource r) throws Exception {
    return admin.describeConfigs(List.of(r)).all().get(30, TimeUnit.SECONDS).get(r);
  }

  /**
   * Kafka answers IncrementalAlterConfigs before DescribeConfigs shows the change (Sluice
   * after storing it): describes R, bounded, until KEY has VALUE; returns the last entry seen.
   */
  private ConfigEntry describeUntil(ConfigResource r, String key, String value)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    ConfigEntry e = describe(r).get(key);
    while ((e == null || !value.equals(e.value())) && System.nanoTime() < deadline) {
      Thread.sleep(100);
      e = describe(r).get(key);
    }
    return e;
  }

  private void alter(ConfigResource r, AlterConfigOp op) throws Exception {
    admin.incrementalAlterConfigs(Map.of(r, List.of(op))).all().get(30, TimeUnit.SECONDS);
  }

  /**
   * describeConfigs shows what createTopics set (and a default for what it did not);
   * incrementalAlterConfigs SET changes retention.ms, DELETE returns it to the default, an
   * unknown key is InvalidConfigurationException and changes nothing.
   */
  public void testDescribeAndIncrementalAlterConfigs() throws Exception {
    admin.createTopics(List.of(new NewTopic("cfg-a", 1, (short) 1)
                                   .configs(Map.of("retention.ms", "3600000")),
                           new NewTopic("cfg-plain", 1, (short) 1)))
        .all()
        .get(30, TimeUnit.SECONDS);
    ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, "cfg-a");
    Config c = describe(r);
    Check.equal("3600000", c.get("retention.ms").value(), "retention.ms as created");
    Check.that(!c.get("retention.ms").isDefault(), "retention.ms set by createTopics is default");
    Check.that(c.get("segment.bytes") != null && c.get("max.message.bytes") != null,
        "segment.bytes and max.message.bytes described: " + c);

    alter(r, new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"),
                 AlterConfigOp.OpType.SET));
    Check.equal("7200000", describeUntil(r, "retention.ms", "7200000").value(),
        "retention.ms after SET");

    alter(r, new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE));
    // The server's default (Kafka: 7 days; Sluice: -1, keep forever) is what a topic created
    // without retention.ms shows.
    ConfigEntry plain = describe(new ConfigResource(ConfigResource.Type.TOPIC, "cfg-plain"))
                            .get("retention.ms");
    Check.that(plain.isDefault(), "retention.ms of a topic created without it: " + plain);
    ConfigEntry back = describeUntil(r, "retention.ms", plain.value());
    Check.that(back.isDefault(), "retention.ms after DELETE is not the default: " + back);
    Check.equal(plain.value(), back.value(), "retention.ms after DELETE");

    Check.throwsCause(InvalidConfigurationException.class,
        () -> alter(r, new AlterConfigOp(new ConfigEntry("no.such.config", "1"),
                           AlterConfigOp.OpType.SET)),
        "SET of an unknown key");
    Check.that(describe(r).get("no.such.config") == null, "unknown key was stored");
  }

  /**
   * describeConfigs lists the compaction keys of a topic that never set them, at their defaults
   * (Kafka's values) with source DEFAULT_CONFIG; setting every described value back through
   * incrementalAlterConfigs changes no value (describe, alter, describe is stable).
   */
  public void testDescribeListsEveryTopicConfigAtItsDefault() throws Exception {
    Clients.createTopic(admin, "cfg-defaults", 1);
    ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, "cfg-defaults");
    Config c = describe(r);
    Map<String, String> defaults = Map.of("cleanup.policy", "delete",
        "delete.retention.ms", "86400000", "min.cleanable.dirty.ratio", "0.5",
        "min.compaction.lag.ms", "0");
    for (Map.Entry<String, String> d : defaults.entrySet()) {
      ConfigEntry e = c.get(d.getKey());
      Check.that(e != null, d.getKey() + " is not described: " + c);
      Check.equal(d.getValue(), e.value(), d.getKey());
      Check.that(e.isDefault(), d.getKey() + " is not described as the default: " + e);
      Check.equal(ConfigEntry.ConfigSource.DEFAULT_CONFIG, e.source(), d.getKey() + " source");
    }
    List<String> keys = List.of("cleanup.policy", "delete.retention.ms",
        "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "retention.ms", "retention.bytes",
        "segment.bytes", "max.message.bytes");
    List<AlterConfigOp> ops = new java.util.ArrayList<>();
    for (String k : keys) {
      Check.that(c.get(k) != null, k + " is not described: " + c);
      ops.add(new AlterConfigOp(new ConfigEntry(k, c.get(k).value()), AlterConfigOp.OpType.SET));
    }
    admin.incrementalAlterConfigs(Map.of(r, ops)).all().get(30, TimeUnit.SECONDS);
    Config after = describe(r);
    for (String k : keys) {
      Check.equal(c.get(k).value(), after.get(k).value(), k + " after setting its described value");
    }
  }

  public void testCreateCompactedTopic() throws Exception {
    admin.createTopics(List.of(new NewTopic("cfg-compact", 2, (short) 1)
                           .configs(Map.of("cleanup.policy", "compact"))))
        .all()
        .get(30, TimeUnit.SECONDS);
    ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, "cfg-compact");
    ConfigEntry e = describe(r).get("cleanup.policy");
    Check.equal("compact", e.value(), "cleanup.policy");
    Check.that(!e.isDefault(), "cleanup.policy=compact described as the default");
    Check.equal(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, e.source(), "cleanup.policy source");
  }

  /**
   * deleteRecords moves the low watermark to exactly the offset asked for (as Kafka: 2500, inside
   * a segment), and the records below it are gone: listOffsets earliest and a consumer from the
   * beginning start there.
   */
  public void testDeleteRecords() throws Exception {
    // 1 MiB segments (Kafka's minimum segment.bytes), about 3 MiB of records: 3+ segments.
    admin.createTopics(List.of(new NewTopic("cfg-del", 1, (short) 1)
                           .configs(Map.of("segment.bytes", "1048576"))))
        .all()
        .get(30, TimeUnit.SECONDS);
    TopicPartition tp = new TopicPartition("cfg-del", 0);
    String value = "x".repeat(1000);
    int n = 3000;
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(), Map.of())) {
      for (int i = 0; i < n; i++) {
        p.send(new ProducerRecord<>("cfg-del", 0, "k" + i, value));
      }
      p.flush();
    }
    long asked = 2500;
    long low = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(asked)))
                   .lowWatermarks()
                   .get(tp)
                   .get(30, TimeUnit.SECONDS)
                   .lowWatermark();
    Check.equal(asked, low, "low watermark after deleteRecords");
    long earliest = admin.listOffsets(Map.of(tp, OffsetSpec.earliest()))
                        .all()
                        .get(30, TimeUnit.SECONDS)
                        .get(tp)
                        .offset();
    Check.equal(low, earliest, "listOffsets earliest after deleteRecords");
    try (KafkaConsumer<String, String> c = Clients.consumer(server.bootstrap(), Map.of())) {
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      ConsumerRecord<String, String> first = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (first == null && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> rec : c.poll(Duration.ofMillis(200))) {
          first = rec;
          break;
        }
      }
      Check.that(first != null, "nothing read after deleteRecords");
      Check.equal(low, first.offset(), "first offset read from the beginning");
      Check.equal("k" + low, first.key(), "key of the first record left");
    }
  }

  /**
   * deleteConsumerGroups: a group with a live member is GroupNotEmptyException and stays; once
   * empty it is deleted (its offsets gone). deleteConsumerGroupOffsets removes one partition's
   * committed offset of an empty group and leaves the other.
   */
  public void testDeleteGroupsAndGroupOffsets() throws Exception {
    Clients.createTopic(admin, "cfg-groups", 2);
    TopicPartition p0 = new TopicPartition("cfg-groups", 0);
    TopicPartition p1 = new TopicPartition("cfg-groups", 1);
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(), Map.of())) {
      for (int i = 0; i < 10; i++) {
        p.send(new ProducerRecord<>("cfg-groups", i % 2, "k", "v" + i));
      }
      p.flush();
    }
    String live = "cfg-live";
    try (KafkaConsumer<String, String> c = Clients.consumer(server.bootstrap(),
             Map.of(ConsumerConfig.GROUP_ID_CONFIG, live))) {
      c.subscribe(List.of("cfg-groups"));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (c.assignment().size() < 2 && System.nanoTime() < deadline) {
        c.poll(Duration.ofMillis(200));
      }
      Check.equal(Set.of(p0, p1), c.assignment(), "assignment of the live member");
      c.commitSync(Map.of(p0, new OffsetAndMetadata(3), p1, new OffsetAndMetadata(4)));
      Check.throwsCause(GroupNotEmptyException.class,
          () -> admin.deleteConsumerGroups(List.of(live)).all().get(30, TimeUnit.SECONDS),
          "deleting a group with a live member");
      Check.equal(3L, committed(live).get(p0).offset(), "offset kept by the refused delete");
    }
    // The member left on close: the group is empty now.
    admin.deleteConsumerGroupOffsets(live, Set.of(p1)).all().get(30, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetAndMetadata> left = committed(live);
    Check.that(!left.containsKey(p1), "offset of partition 1 after OffsetDelete: " + left);
    Check.equal(3L, left.get(p0).offset(), "partition 0 is left alone by OffsetDelete");

    admin.deleteConsumerGroups(List.of(live)).all().get(30, TimeUnit.SECONDS);
    Check.that(committed(live).isEmpty(), "offsets of the deleted group: " + committed(live));
    Check.throwsCause(GroupIdNotFoundException.class,
        () -> admin.deleteConsumerGroups(List.of(live)).all().get(30, TimeUnit.SECONDS),
        "deleting the group again");
  }

  /** describeCluster: a cluster id, one node, and that node is the controller. */
  public void testDescribeCluster() throws Exception {
    DescribeClusterResult d = admin.describeCluster();
    String id = d.clusterId().get(30, TimeUnit.SECONDS);
    Check.that(id != null && !id.isEmpty(), "cluster id: " + id);
    Collection<Node> nodes = d.nodes().get(30, TimeUnit.SECONDS);
    Check.equal(1, nodes.size(), "nodes: " + nodes);
    Node controller = d.controller().get(30, TimeUnit.SECONDS);
    Node only = nodes.iterator().next();
    Check.that(controller != null && !controller.isEmpty(), "controller: " + controller);
    Check.equal(only.id(), controller.id(), "controller id (the only node)");
  }

  private Map<TopicPartition, OffsetAndMetadata> committed(String group) throws Exception {
    return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30,
        TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    admin.close(Duration.ofSeconds(5));
    server.close();
  }
}
