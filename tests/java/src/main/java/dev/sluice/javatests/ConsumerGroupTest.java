package dev.sluice.javatests;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Three Java consumers of one group in one JVM split a 6-partition topic: every partition is
 * owned by exactly one member once the group settles, every record is consumed, and when one
 * member leaves the other two take its partitions over from its committed offsets (no record
 * lost).
 */
public final class ConsumerGroupTest implements AutoCloseable {
  private static final String TOPIC = "group-split";
  private static final int PARTITIONS = 6;
  private final SluiceServer server;
  private final Admin admin;

  public ConsumerGroupTest(Env env) throws Exception {
    server = env.server("data", List.of()).start();
    admin = Clients.admin(server.bootstrap(), Map.of());
  }

  /** One member: polls in its own thread, commits after each poll, records what it owns. */
  private final class Member implements Runnable {
    final String name;
    final Set<String> consumed = ConcurrentHashMap.newKeySet();
    volatile Set<TopicPartition> owned = Set.of();
    final AtomicBoolean stop = new AtomicBoolean();
    volatile Throwable error;
    final Thread thread;

    Member(String name) {
      this.name = name;
      thread = new Thread(this, name);
      thread.start();
    }

    @Override
    public void run() {
      try (KafkaConsumer<String, String> c = Clients.consumer(server.bootstrap(),
               Map.of(ConsumerConfig.GROUP_ID_CONFIG, "splitters",
                   ConsumerConfig.CLIENT_ID_CONFIG, name,
                   ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000,
                   ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500))) {
        c.subscribe(List.of(TOPIC), new ConsumerRebalanceListener() {
          @Override
          public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            c.commitSync();
          }

          @Override
          public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}
        });
        while (!stop.get()) {
          for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
            consumed.add(r.value());
          }
          c.commitSync();
          owned = Set.copyOf(c.assignment());
        }
        c.commitSync();
      } catch (Throwable t) {
        error = t;
      }
    }

    void leave() throws InterruptedException {
      stop.set(true);
      thread.join(30_000);
      Check.that(!thread.isAlive(), name + " did not close");
      owned = Set.of();
    }
  }

  private static void produce(KafkaProducer<String, String> p, String prefix, int n,
      Set<String> sent) throws Exception {
    for (int i = 0; i < n; i++) {
      String v = prefix + i;
      p.send(new ProducerRecord<>(TOPIC, i % PARTITIONS, "k" + i, v));
      sent.add(v);
    }
    p.flush();
  }

  /** Waits (bounded) until the live members own every partition exactly once between them. */
  private static void awaitSplit(List<Member> members) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String last = "";
    while (System.nanoTime() < deadline) {
      Map<TopicPartition, Integer> owners = new HashMap<>();
      boolean everyoneHasSome = true;
      for (Member m : members) {
        Check.that(m.error == null, m.name + " failed: " + m.error);
        everyoneHasSome &= !m.owned.isEmpty();
        for (TopicPartition tp : m.owned) {
          owners.merge(tp, 1, Integer::sum);
        }
      }
      last = owners.toString();
      if (everyoneHasSome && owners.size() == PARTITIONS
          && owners.values().stream().allMatch(n -> n == 1)) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the group did not settle on one owner per partition: " + last);
  }

  private static void awaitConsumed(List<Member> members, Set<String> sent) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    Set<String> union = new HashSet<>();
    while (System.nanoTime() < deadline) {
      union.clear();
      for (Member m : members) {
        union.addAll(m.consumed);
      }
      if (union.containsAll(sent)) {
        return;
      }
      Thread.sleep(100);
    }
    Set<String> missing = new HashSet<>(sent);
    missing.removeAll(union);
    throw new AssertionError(missing.size() + " records never consumed, e.g. "
        + missing.stream().limit(5).toList());
  }

  public void testThreeMembersSplitTheTopicAndRebalanceWhenOneLeaves() throws Exception {
    Clients.createTopic(admin, TOPIC, PARTITIONS);
    Set<String> sent = new HashSet<>();
    List<Member> members = new ArrayList<>();
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(), Map.of())) {
      produce(p, "a", 300, sent);
      members.add(new Member("m1"));
      members.add(new Member("m2"));
      members.add(new Member("m3"));
      awaitSplit(members);
      produce(p, "b", 300, sent);
      awaitConsumed(members, sent);
      for (Member m : members) {
        Check.that(m.consumed.size() > 0, m.name + " consumed nothing");
      }
      // m2 leaves: m1 and m3 take its partitions over and read on from its commits.
      Member gone = members.remove(1);
      gone.leave();
      awaitSplit(members);
      produce(p, "c", 300, sent);
      List<Member> all = new ArrayList<>(members);
      all.add(gone);
      awaitConsumed(all, sent);
      Set<String> afterLeave = new HashSet<>();
      members.forEach(m -> afterLeave.addAll(m.consumed));
      for (int i = 0; i < 300; i++) {
        Check.that(afterLeave.contains("c" + i), "c" + i + " not consumed by the remaining two");
      }
    } finally {
      for (Member m : members) {
        m.leave();
      }
    }
  }

  @Override
  public void close() throws Exception {
    admin.close(Duration.ofSeconds(5));
    server.close();
  }
}
