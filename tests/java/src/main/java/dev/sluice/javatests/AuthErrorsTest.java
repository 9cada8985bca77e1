package dev.sluice.javatests;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnsupportedSaslMechanismException;
import org.apache.kafka.common.message.SaslAuthenticateRequestData;
import org.apache.kafka.common.message.SaslHandshakeRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.AbstractResponse;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.requests.SaslAuthenticateRequest;
import org.apache.kafka.common.requests.SaslAuthenticateResponse;
import org.apache.kafka.common.requests.SaslHandshakeRequest;
import org.apache.kafka.common.requests.SaslHandshakeResponse;

/**
 * Authentication and authorization errors of `sluice serve` as Kafka's own Java client sees
 * them (issue 16): UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE (SASL steps out of order,
 * sent with kafka-clients' request classes on a raw socket, since no client sends them),
 * CLUSTER_AUTHORIZATION_FAILED for an idempotent producer without write permission, and
 * CreateTopics/DeleteTopics refused for a user without admin permission. Issue 16, Authentication
 * and TLS: the missing permission (reliability-scenarios F4).
 */
public final class AuthErrorsTest implements AutoCloseable {
  private final SluiceServer server;

  public AuthErrorsTest(Env env) throws Exception {
    // SASL without TLS (loopback), one mechanism enabled.
    server = env.server("data", List.of("--security-protocol", "SASL_PLAINTEXT",
        "--sasl-mechanisms", "SCRAM-SHA-256"));
    Secure.addUser(env, server.data(), "ops", "ops-secret",
        List.of(List.of("--topic-prefix", "*", "--read", "--write", "--admin"),
            List.of("--group-prefix", "*", "--read")));
    Secure.addUser(env, server.data(), "reader", "reader-secret",
        List.of(List.of("--topic-prefix", "*", "--read"),
            List.of("--group-prefix", "*", "--read")));
    Secure.addUser(env, server.data(), "writer", "writer-secret",
        List.of(List.of("--topic-prefix", "*", "--read", "--write"),
            List.of("--group-prefix", "*", "--read")));
    server.start();
  }

  private Map<String, Object> as(String user) {
    return Secure.sasl(null, "SCRAM-SHA-256", user, user + "-secret");
  }

  public void testMechanismTheServerDoesNotEnableIsUnsupported() throws Exception {
    try (Admin admin = Clients.admin(server.bootstrap(),
             Secure.sasl(null, "SCRAM-SHA-512", "ops", "ops-secret"))) {
      UnsupportedSaslMechanismException e =
          Check.throwsCause(UnsupportedSaslMechanismException.class,
              () -> admin.listTopics().names().get(30, TimeUnit.SECONDS),
              "SCRAM-SHA-512 against a server that enables SCRAM-SHA-256 only");
      Check.that(e.getMessage().contains("SCRAM-SHA-256"),
          "the error names the enabled mechanisms: " + e.getMessage());
    }
    Check.that(server.log().contains("SASL mechanism 'SCRAM-SHA-512' is not enabled"),
        "no server log line for the unsupported mechanism:\n" + server.log());
  }

  /** A raw connection speaking Kafka's framing with kafka-clients' own request classes. */
  private final class Raw implements AutoCloseable {
    final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;
    int correlation = 1;

    Raw() throws Exception {
      socket = new Socket(InetAddress.getLoopbackAddress(),
          Integer.parseInt(server.bootstrap().split(":")[1]));
      socket.setSoTimeout(20_000);
      in = new DataInputStream(socket.getInputStream());
      out = new DataOutputStream(socket.getOutputStream());
    }

    AbstractResponse call(ApiKeys api, AbstractRequest request) throws Exception {
      RequestHeader header =
          new RequestHeader(api, request.version(), "raw-sasl-test", correlation++);
      ByteBuffer frame = request.serializeWithHeader(header);
      out.writeInt(frame.remaining());
      out.write(frame.array(), frame.arrayOffset() + frame.position(), frame.remaining());
      out.flush();
      byte[] response = new byte[in.readInt()];
      in.readFully(response);
      return AbstractResponse.parseResponse(ByteBuffer.wrap(response), header);
    }

    SaslHandshakeResponse handshake(String mechanism) throws Exception {
      return (SaslHandshakeResponse) call(ApiKeys.SASL_HANDSHAKE,
          new SaslHandshakeRequest.Builder(new SaslHandshakeRequestData().setMechanism(mechanism))
              .build((short) 1));
    }

    SaslAuthenticateResponse authenticate(byte[] token) throws Exception {
      return (SaslAuthenticateResponse) call(ApiKeys.SASL_AUTHENTICATE,
          new SaslAuthenticateRequest.Builder(new SaslAuthenticateRequestData().setAuthBytes(token))
              .build((short) 2));
    }

    /** True once the server has closed the connection. */
    boolean closedByServer() throws Exception {
      try {
        return in.read() < 0;
      } catch (EOFException | java.net.SocketException e) {
        return true;
      }
    }

    @Override
    public void close() throws Exception {
      socket.close();
    }
  }

  public void testSaslStepsOutOfOrderAreIllegalSaslState() throws Exception {
    try (Raw raw = new Raw()) {
      SaslHandshakeResponse first = raw.handshake("SCRAM-SHA-256");
      Check.equal(Errors.NONE, first.error(), "first SaslHandshake");
      Check.equal(List.of("SCRAM-SHA-256"), first.data().mechanisms(), "enabled mechanisms");
      Check.equal(Errors.ILLEGAL_SASL_STATE, raw.handshake("SCRAM-SHA-256").error(),
          "a second SaslHandshake on the same connection");
      Check.that(raw.closedByServer(), "connection left open after ILLEGAL_SASL_STATE");
    }
    try (Raw raw = new Raw()) {
      SaslAuthenticateResponse r = raw.authenticate("n,,n=ops,r=abc".getBytes());
      Check.equal(Errors.ILLEGAL_SASL_STATE, r.error(), "SaslAuthenticate before SaslHandshake");
      Check.equal("SaslAuthenticate before SaslHandshake v1", r.errorMessage(), "error message");
      Check.that(raw.closedByServer(), "connection left open after ILLEGAL_SASL_STATE");
    }
    try (Raw raw = new Raw()) {
      SaslHandshakeResponse r = raw.handshake("GSSAPI");
      Check.equal(Errors.UNSUPPORTED_SASL_MECHANISM, r.error(), "SaslHandshake with GSSAPI");
      Check.equal(List.of("SCRAM-SHA-256"), r.data().mechanisms(), "enabled mechanisms");
      Check.that(raw.closedByServer(), "connection left open after UNSUPPORTED_SASL_MECHANISM");
    }
    Check.that(server.log().contains("SaslHandshake received after a mechanism was chosen"),
        "no server log line for ILLEGAL_SASL_STATE:\n" + server.log());
  }

  public void testIdempotentProducerWithoutWritePermissionIsClusterAuthorizationFailed()
      throws Exception {
    try (Admin ops = Clients.admin(server.bootstrap(), as("ops"))) {
      Clients.createTopic(ops, "auth-idempotent", 1);
    }
    try (KafkaProducer<String, String> p = Clients.producer(server.bootstrap(),
             Secure.with(as("reader"), ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true))) {
      Check.throwsCause(ClusterAuthorizationException.class,
          () -> p.send(new ProducerRecord<>("auth-idempotent", "v")).get(30, TimeUnit.SECONDS),
          "idempotent producer of a user who may only read");
    }
    Check.that(server.log().contains("principal 'reader' is not permitted InitProducerId"),
        "no server log line for the refused InitProducerId:\n" + server.log());
  }

  public void testCreateAndDeleteTopicsNeedAdminPermission() throws Exception {
    try (Admin ops = Clients.admin(server.bootstrap(), as("ops"));
         Admin writer = Clients.admin(server.bootstrap(), as("writer"))) {
      Clients.createTopic(ops, "auth-owned", 1);
      Check.throwsCause(TopicAuthorizationException.class,
          () -> Clients.createTopic(writer, "auth-new", 1), "CreateTopics without admin");
      Check.throwsCause(TopicAuthorizationException.class,
          () -> writer.deleteTopics(List.of("auth-owned")).all().get(30, TimeUnit.SECONDS),
          "DeleteTopics without admin");
      Set<String> names = ops.listTopics().names().get(30, TimeUnit.SECONDS);
      Check.that(names.contains("auth-owned"), "the refused DeleteTopics deleted: " + names);
      Check.that(!names.contains("auth-new"), "the refused CreateTopics created: " + names);
    }
    String log = server.log();
    Check.that(log.contains("principal 'writer' is not permitted CreateTopics"),
        "no log line for the refused CreateTopics:\n" + log);
    Check.that(log.contains("principal 'writer' is not permitted DeleteTopics"),
        "no log line for the refused DeleteTopics:\n" + log);
  }

  @Override
  public void close() throws Exception {
    server.close();
  }
}
