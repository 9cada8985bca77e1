package dev.sluice.javatests;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;

/**
 * The Java producer, consumer (in a group) and admin client over SASL_SSL (TLS with a test CA,
 * SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN), and a wrong password refused with
 * SaslAuthenticationException and one server log line (issue 16, Authentication and TLS: the Java
 * client over SASL_SSL and the wrong password; reliability-scenarios F4).
 */
public final class SaslSslTest implements AutoCloseable {
  private final SluiceServer server;
  private final Path ca;

  public SaslSslTest(Env env) throws Exception {
    Path certs = Secure.makeCertificates(env.work.resolve("certs"));
    ca = certs.resolve("ca.pem");
    server = env.server("data", List.of("--security-protocol", "SASL_SSL", "--tls-cert",
        certs.resolve("server.pem").toString(), "--tls-key",
        certs.resolve("server.key").toString()));
    Secure.addUser(env, server.data(), "alice", "alice-secret",
        List.of(List.of("--topic-prefix", "*", "--read", "--write", "--admin"),
            List.of("--group-prefix", "*", "--read")));
    server.start();
  }

  private void roundTrip(String mechanism) throws Exception {
    Map<String, Object> auth = Secure.sasl(ca, mechanism, "alice", "alice-secret");
    String topic = "secure-" + mechanism.toLowerCase();
    try (Admin admin = Clients.admin(server.bootstrap(), auth)) {
      Clients.createTopic(admin, topic, 2);
    }
    List<String> sent = new ArrayList<>();
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(), auth)) {
      for (int i = 0; i < 20; i++) {
        String v = mechanism + "-" + i;
        p.send(new ProducerRecord<>(topic, "k" + i, v)).get(30, TimeUnit.SECONDS);
        sent.add(v);
      }
    }
    List<String> got = new ArrayList<>();
    try (KafkaConsumer<String, String> c = Clients.consumer(server.bootstrap(),
             Secure.with(auth, ConsumerConfig.GROUP_ID_CONFIG, "secure-readers-" + mechanism))) {
      c.subscribe(List.of(topic));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (got.size() < sent.size() && System.nanoTime() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(r -> got.add(r.value()));
      }
      c.commitSync();
    }
    got.sort(null);
    sent.sort(null);
    Check.equal(sent, got, "values read back over SASL_SSL with " + mechanism);
  }

  public void testScramSha256RoundTrip() throws Exception {
    roundTrip("SCRAM-SHA-256");
  }

  public void testScramSha512RoundTrip() throws Exception {
    roundTrip("SCRAM-SHA-512");
  }

  public void testPlainRoundTrip() throws Exception {
    roundTrip("PLAIN");
  }

  public void testWrongPasswordIsSaslAuthenticationException() throws Exception {
    Map<String, Object> wrong = Secure.sasl(ca, "SCRAM-SHA-256", "alice", "not-her-password");
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(), wrong)) {
      SaslAuthenticationException e = Check.throwsCause(SaslAuthenticationException.class,
          () -> p.send(new ProducerRecord<>("secure-wrong", "v")).get(30, TimeUnit.SECONDS),
          "producer with a wrong password");
      Check.that(e.getMessage().contains("invalid credentials"), "message: " + e.getMessage());
    }
    try (Admin admin = Clients.admin(server.bootstrap(), wrong)) {
      Check.throwsCause(SaslAuthenticationException.class,
          () -> admin.listTopics().names().get(30, TimeUnit.SECONDS),
          "admin with a wrong password");
    }
    String log = server.log();
    Check.that(log.contains("SASL authentication with SCRAM-SHA-256 failed"),
        "no server log line for the failed login:\n" + log);
    Check.that(!log.contains("not-her-password"), "the server logged the password");
  }

  @Override
  public void close() throws Exception {
    server.close();
  }
}
