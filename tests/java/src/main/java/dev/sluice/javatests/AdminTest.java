package dev.sluice.javatests;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * The Java Admin client's calls that `sluice serve` serves today: topics (create, list,
 * describe, delete), offsets (listOffsets by earliest, latest and time), and groups (list,
 * describe, list and alter their committed offsets). DescribeConfigs, IncrementalAlterConfigs,
 * DeleteGroups, OffsetDelete, DeleteRecords and DescribeCluster are tested in AdminConfigsTest.
 */
public final class AdminTest implements AutoCloseable {
  private final SluiceServer server;
  private final Admin admin;

  public AdminTest(Env env) throws Exception {
    server = env.server("data", List.of("--no-auto-create")).start();
    admin = Clients.admin(server.bootstrap(), Map.of());
  }

  public void testCreateListDescribeDeleteTopics() throws Exception {
    admin.createTopics(List.of(new NewTopic("adm-a", 3, (short) 1),
                           new NewTopic("adm-b", 1, (short) 1)
                               .configs(Map.of("retention.ms", "3600000"))))
        .all()
        .get(30, TimeUnit.SECONDS);
    Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
    Check.that(names.containsAll(Set.of("adm-a", "adm-b")), "listTopics: " + names);
    Map<String, TopicDescription> d =
        admin.describeTopics(List.of("adm-a", "adm-b")).allTopicNames().get(30, TimeUnit.SECONDS);
    Check.equal(3, d.get("adm-a").partitions().size(), "adm-a partitions");
    Check.equal(1, d.get("adm-b").partitions().size(), "adm-b partitions");
    Check.equal(1, d.get("adm-a").partitions().get(2).replicas().size(), "replicas of adm-a/2");
    Check.throwsCause(TopicExistsException.class,
        () -> Clients.createTopic(admin, "adm-a", 3), "creating adm-a twice");

    admin.deleteTopics(List.of("adm-a")).all().get(30, TimeUnit.SECONDS);
    // Kafka answers DeleteTopics before every broker's metadata has dropped the topic (Sluice
    // after deleting it): wait, bounded, for listTopics to stop showing it.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    do {
      names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
    } while (names.contains("adm-a") && System.nanoTime() < deadline && sleep(100));
    Check.that(!names.contains("adm-a") && names.contains("adm-b"),
        "listTopics after deleting adm-a: " + names);
    Check.throwsCause(UnknownTopicOrPartitionException.class,
        () -> admin.describeTopics(List.of("adm-a")).allTopicNames().get(30, TimeUnit.SECONDS),
        "describing a deleted topic");
    Check.throwsCause(UnknownTopicOrPartitionException.class,
        () -> admin.deleteTopics(List.of("adm-never")).all().get(30, TimeUnit.SECONDS),
        "deleting a topic that does not exist");
  }

  /**
   * Kafka Streams creates its internal topics with message.timestamp.type=CreateTime (what the
   * log keeps): accepted by createTopics, described, settable to CreateTime; LogAppendTime is
   * InvalidConfigurationException.
   */
  public void testMessageTimestampTypeCreateTime() throws Exception {
    admin.createTopics(List.of(new NewTopic("adm-ts", 1, (short) 1)
                           .configs(Map.of("message.timestamp.type", "CreateTime",
                               "cleanup.policy", "delete", "segment.bytes", "52428800",
                               "retention.ms", "-1"))))
        .all()
        .get(30, TimeUnit.SECONDS);
    ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, "adm-ts");
    Config c = admin.describeConfigs(List.of(r)).all().get(30, TimeUnit.SECONDS).get(r);
    Check.equal("CreateTime", c.get("message.timestamp.type").value(), "described");
    Check.equal("52428800", c.get("segment.bytes").value(), "segment.bytes");
    admin.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(
        new ConfigEntry("message.timestamp.type", "CreateTime"), AlterConfigOp.OpType.SET))))
        .all()
        .get(30, TimeUnit.SECONDS);
    Check.throwsCause(InvalidConfigurationException.class,
        () -> admin.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(
                new ConfigEntry("message.timestamp.type", "LogAppendTime"),
                AlterConfigOp.OpType.SET)))).all().get(30, TimeUnit.SECONDS),
        "message.timestamp.type=LogAppendTime");
    Check.throwsCause(InvalidConfigurationException.class,
        () -> admin.createTopics(List.of(new NewTopic("adm-ts2", 1, (short) 1)
                .configs(Map.of("message.timestamp.type", "LogAppendTime"))))
            .all().get(30, TimeUnit.SECONDS),
        "createTopics with LogAppendTime");
  }

  public void testListOffsetsEarliestLatestAndByTime() throws Exception {
    Clients.createTopic(admin, "adm-offsets", 1);
    TopicPartition tp = new TopicPartition("adm-offsets", 0);
    long t0 = 1_700_000_000_000L;
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(), Map.of())) {
      for (int i = 0; i < 10; i++) {
        p.send(new ProducerRecord<>("adm-offsets", 0, t0 + i * 1000L, "k", "v" + i));
      }
      p.flush();
    }
    Check.equal(0L, offset(tp, OffsetSpec.earliest()), "earliest");
    Check.equal(10L, offset(tp, OffsetSpec.latest()), "latest");
    Check.equal(4L, offset(tp, OffsetSpec.forTimestamp(t0 + 3500)), "first offset at t0+3.5s");
  }

  private static boolean sleep(long ms) throws InterruptedException {
    Thread.sleep(ms);
    return true;
  }

  private long offset(TopicPartition tp, OffsetSpec spec) throws Exception {
    Map<TopicPartition, ListOffsetsResultInfo> r =
        admin.listOffsets(Map.of(tp, spec)).all().get(30, TimeUnit.SECONDS);
    return r.get(tp).offset();
  }

  public void testGroupsAreListedDescribedAndTheirOffsetsAltered() throws Exception {
    Clients.createTopic(admin, "adm-groups", 2);
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(), Map.of())) {
      for (int i = 0; i < 20; i++) {
        p.send(new ProducerRecord<>("adm-groups", i % 2, "k", "v" + i));
      }
      p.flush();
    }
    String group = "adm-readers";
    TopicPartition p0 = new TopicPartition("adm-groups", 0);
    TopicPartition p1 = new TopicPartition("adm-groups", 1);
    try (KafkaConsumer<String, String> c = Clients.consumer(server.bootstrap(),
             Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
                 ConsumerConfig.CLIENT_ID_CONFIG, "adm-reader-1"))) {
      c.subscribe(List.of("adm-groups"));
      int seen = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (seen < 20 && System.nanoTime() < deadline) {
        seen += c.poll(Duration.ofMillis(200)).count();
      }
      Check.equal(20, seen, "records consumed");
      c.commitSync(Map.of(p0, new OffsetAndMetadata(7), p1, new OffsetAndMetadata(10)));

      // While the member is in the group: listed, Stable, one member owning both partitions.
      Set<String> listed = groupIds();
      Check.that(listed.contains(group), "listConsumerGroups: " + listed);
      ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group))
                                       .describedGroups()
                                       .get(group)
                                       .get(30, TimeUnit.SECONDS);
      Check.equal(GroupState.STABLE, d.groupState(), "state with a live member");
      Check.equal(1, d.members().size(), "members: " + d.members());
      Check.equal("adm-reader-1", d.members().iterator().next().clientId(), "member client id");
      Check.equal(Set.of(p0, p1), d.members().iterator().next().assignment().topicPartitions(),
          "member assignment");
    }
    Map<TopicPartition, OffsetAndMetadata> offsets = committed(group);
    Check.equal(7L, offsets.get(p0).offset(), "committed offset of partition 0");
    Check.equal(10L, offsets.get(p1).offset(), "committed offset of partition 1");
    ConsumerGroupDescription empty = admin.describeConsumerGroups(List.of(group))
                                         .describedGroups()
                                         .get(group)
                                         .get(30, TimeUnit.SECONDS);
    Check.equal(GroupState.EMPTY, empty.groupState(), "state after the member left");

    // An operator moves the empty group back; the next member starts there.
    admin.alterConsumerGroupOffsets(group, Map.of(p0, new OffsetAndMetadata(2)))
        .all()
        .get(30, TimeUnit.SECONDS);
    Check.equal(2L, committed(group).get(p0).offset(), "offset of partition 0 after alter");
    Check.equal(10L, committed(group).get(p1).offset(), "partition 1 is left alone by alter");
    try (KafkaConsumer<String, String> c = Clients.consumer(server.bootstrap(),
             Map.of(ConsumerConfig.GROUP_ID_CONFIG, group))) {
      c.subscribe(List.of("adm-groups"));
      ConsumerRecord<String, String> first = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (first == null && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          if (r.partition() == 0) {
            first = r;
            break;
          }
        }
      }
      Check.that(first != null, "nothing read from partition 0 after the alter");
      Check.equal(2L, first.offset(), "first offset read from partition 0 after the alter");
    }
  }

  @SuppressWarnings("deprecation")
  private Set<String> groupIds() throws Exception {
    return admin.listConsumerGroups()
        .all()
        .get(30, TimeUnit.SECONDS)
        .stream()
        .map(ConsumerGroupListing::groupId)
        .collect(java.util.stream.Collectors.toSet());
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
