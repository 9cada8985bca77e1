package dev.sluice.javatests;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;

/**
 * Certificates (a CA and a server certificate for 127.0.0.1, made with the openssl CLI as
 * tests/server/kafka_auth_test.py does), users made with `sluice user`, and the Java client
 * settings for SASL_SSL / SASL_PLAINTEXT.
 */
public final class Secure {
  private Secure() {}

  /** Makes DIR/ca.pem and DIR/server.{pem,key}; returns DIR. */
  public static Path makeCertificates(Path dir) throws Exception {
    Files.createDirectories(dir);
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "2", "-subj", "/CN=sluice-test-ca");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1\n");
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
        "server.csr", "-subj", "/CN=127.0.0.1");
    openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext");
    return dir;
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    Check.that(p.waitFor() == 0, "openssl " + String.join(" ", args) + ": " + out);
  }

  /** `sluice user add NAME` with PASSWORD, then each grant (e.g. "--topic-prefix", "*", ...). */
  public static void addUser(Env env, Path data, String name, String password,
      List<List<String>> grants) throws Exception {
    env.sluice(password + "\n", "user", "add", name, "--password-stdin", "--data",
        data.toString());
    for (List<String> g : grants) {
      List<String> args = new ArrayList<>(List.of("user", "grant", name, "--data",
          data.toString()));
      args.addAll(g);
      env.sluice(null, args.toArray(String[]::new));
    }
  }

  /** Java client settings for SASL over TLS (CA_PEM trusted) or, CA_PEM null, plaintext. */
  public static Map<String, Object> sasl(Path caPem, String mechanism, String user,
      String password) {
    Map<String, Object> m = new HashMap<>();
    m.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG,
        caPem == null ? "SASL_PLAINTEXT" : "SASL_SSL");
    m.put(SaslConfigs.SASL_MECHANISM, mechanism);
    String module = mechanism.equals("PLAIN")
        ? "org.apache.kafka.common.security.plain.PlainLoginModule"
        : "org.apache.kafka.common.security.scram.ScramLoginModule";
    m.put(SaslConfigs.SASL_JAAS_CONFIG,
        module + " required username=\"" + user + "\" password=\"" + password + "\";");
    if (caPem != null) {
      m.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
      m.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, caPem.toString());
    }
    return m;
  }

  public static Map<String, Object> with(Map<String, Object> a, Object... kv) {
    Map<String, Object> m = new HashMap<>(a);
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }
}
