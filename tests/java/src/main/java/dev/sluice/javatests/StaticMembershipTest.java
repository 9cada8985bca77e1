package dev.sluice.javatests;

import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedInstanceIdException;

/**
 * Consumer groups with static membership (group.instance.id, classic protocol): a static
 * member closed without leaving and restarted with the same instance id within the session
 * timeout gets its partitions back and the other member is not revoked; a second consumer with
 * an instance id that is already in use fences one of the two (FencedInstanceIdException).
 */
public final class StaticMembershipTest implements AutoCloseable {
  // A topic and group per case: against a running Kafka (--bootstrap) the cases share it.
  private String topic;
  private String group;
  private final SluiceServer server;
  private final Admin admin;

  public StaticMembershipTest(Env env) throws Exception {
    server = env.server("data", List.of("--no-auto-create")).start();
    admin = Clients.admin(server.bootstrap(), Map.of());
  }

  /** Counts the non-empty revocations a consumer's rebalances make. */
  private static final class Revocations implements ConsumerRebalanceListener {
    final AtomicInteger count = new AtomicInteger();

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      if (!partitions.isEmpty()) {
        count.incrementAndGet();
      }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}
  }

  private KafkaConsumer<String, String> member(String instance, Revocations listener) {
    KafkaConsumer<String, String> c = Clients.consumer(server.bootstrap(),
        Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
            ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instance,
            ConsumerConfig.CLIENT_ID_CONFIG, "static-" + instance,
            ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 30_000,
            ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000));
    c.subscribe(List.of(topic), listener);
    return c;
  }

  /** Polls every consumer in turn until their assignments are disjoint and cover the topic. */
  private static void pollUntilSplit(List<KafkaConsumer<String, String>> cs) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      for (KafkaConsumer<String, String> c : cs) {
        c.poll(Duration.ofMillis(100));
      }
      Set<TopicPartition> all = new HashSet<>();
      int sum = 0;
      boolean everyoneHasSome = true;
      for (KafkaConsumer<String, String> c : cs) {
        all.addAll(c.assignment());
        sum += c.assignment().size();
        everyoneHasSome &= !c.assignment().isEmpty();
      }
      if (everyoneHasSome && all.size() == 4 && sum == 4) {
        return;
      }
    }
    StringBuilder b = new StringBuilder("assignments did not split the 4 partitions in 60 s:");
    for (KafkaConsumer<String, String> c : cs) {
      b.append(' ').append(c.assignment());
    }
    throw new AssertionError(b.toString());
  }

  private static void pollFor(List<KafkaConsumer<String, String>> cs, long ms) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    while (System.nanoTime() < deadline) {
      for (KafkaConsumer<String, String> c : cs) {
        c.poll(Duration.ofMillis(100));
      }
    }
  }

  private void createTopicAndGroup(String name) throws Exception {
    topic = name + "-t";
    group = name + "-g";
    Clients.createTopic(admin, topic, 4);
  }

  public void testRestartWithSameInstanceIdKeepsAssignment() throws Exception {
    createTopicAndGroup("static-restart");
    Revocations revA = new Revocations();
    Revocations revB = new Revocations();
    KafkaConsumer<String, String> a = member("a", revA);
    KafkaConsumer<String, String> b = member("b", revB);
    try {
      pollUntilSplit(List.of(a, b));
      // Let the group settle (a late join could still rebalance), then take the counts.
      pollFor(List.of(a, b), 2_000);
      Set<TopicPartition> ofA = Set.copyOf(a.assignment());
      Set<TopicPartition> ofB = Set.copyOf(b.assignment());
      int revokedB = revB.count.get();

      // A static member's close does not leave the group (Kafka's default for static members).
      a.close(Duration.ofSeconds(5));
      a = null;
      pollFor(List.of(b), 1_000);
      Revocations revA2 = new Revocations();
      a = member("a", revA2);
      pollUntilSplit(List.of(a, b));
      pollFor(List.of(a, b), 3_000);
      Check.equal(ofA, a.assignment(), "partitions of the restarted instance a");
      Check.equal(ofB, b.assignment(), "partitions of b");
      Check.equal(revokedB, revB.count.get(), "revocations of b across a's restart");
    } finally {
      if (a != null) {
        a.close(Duration.ofSeconds(5));
      }
      b.close(Duration.ofSeconds(5));
    }
  }

  public void testDuplicateInstanceIdIsFenced() throws Exception {
    createTopicAndGroup("static-dup");
    KafkaConsumer<String, String> a = member("a", new Revocations());
    KafkaConsumer<String, String> b = member("b", new Revocations());
    KafkaConsumer<String, String> dup = null;
    try {
      pollUntilSplit(List.of(a, b));
      dup = member("a", new Revocations());
      boolean fenced = false;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!fenced && System.nanoTime() < deadline) {
        for (KafkaConsumer<String, String> c : List.of(a, dup)) {
          try {
            c.poll(Duration.ofMillis(100));
          } catch (FencedInstanceIdException e) {
            fenced = true;
            break;
          }
        }
        if (!fenced) {
          b.poll(Duration.ofMillis(100));
        }
      }
      Check.that(fenced, "no FencedInstanceIdException within 60 s with instance id a twice");
    } finally {
      for (KafkaConsumer<String, String> c : new KafkaConsumer[] {a, b, dup}) {
        if (c != null) {
          try {
            c.close(Duration.ofSeconds(5));
          } catch (RuntimeException e) {
            // A fenced consumer may refuse to close cleanly; the server is stopped next.
          }
        }
      }
    }
  }

  @Override
  public void close() throws Exception {
    admin.close(Duration.ofSeconds(5));
    server.close();
  }
}
