package dev.sluice.javatests;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Runs one test class against the real `sluice serve` binary:
 *
 * <pre>java -cp CLASSPATH dev.sluice.javatests.Main CLASS --sluice PATH [--case METHOD]
 * java -cp CLASSPATH dev.sluice.javatests.Main CLASS --bootstrap HOST:PORT [--case METHOD]</pre>
 *
 * With --bootstrap the class runs against a server that is already running (Apache Kafka from
 * scripts/kafka-cluster.sh, to check that a test expects what Kafka does); only the classes that
 * never stop, kill or configure their server can (TransactionsTest, ConsumerGroupTest,
 * AdminTest).
 *
 * The class has a constructor taking {@link Env} (it starts its own fresh server) and public
 * no-argument methods named test*, run in name order, each on a new instance (so a new server)
 * that is closed after it. Prints one line
 * per case and "N passed, N failed"; exits 1 if any case failed. The temporary directory (data,
 * server log) is kept when something failed and its path printed.
 */
public final class Main {
  public static void main(String[] args) throws Exception {
    String className = null;
    String sluice = null;
    String bootstrap = null;
    String only = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--sluice" -> sluice = args[++i];
        case "--bootstrap" -> bootstrap = args[++i];
        case "--case" -> only = args[++i];
        default -> className = args[i];
      }
    }
    if (className == null || (sluice == null) == (bootstrap == null)) {
      System.err.println("usage: Main CLASS (--sluice PATH | --bootstrap HOST:PORT) [--case M]");
      System.exit(2);
    }
    Path work = Files.createTempDirectory("sluice-java-" + className + "-");
    Env env = new Env(sluice == null ? null : Path.of(sluice), bootstrap, work);
    Class<?> cls = Class.forName("dev.sluice.javatests." + className);
    List<Method> cases = new ArrayList<>();
    for (Method m : cls.getMethods()) {
      if (m.getName().startsWith("test") && m.getParameterCount() == 0
          && !Modifier.isStatic(m.getModifiers())
          && (only == null || only.equals(m.getName()))) {
        cases.add(m);
      }
    }
    cases.sort(Comparator.comparing(Method::getName));
    if (cases.isEmpty()) {
      System.err.println("no test methods matched in " + className);
      System.exit(2);
    }
    int passed = 0;
    int failed = 0;
    for (Method m : cases) {
      // Each case gets a new instance, so a fresh server over its own directory: no case sees
      // another's topics, groups or server log lines (the server rate-limits client-error lines,
      // and one case's burst would hide the next case's).
      long start = System.nanoTime();
      Path caseWork = Files.createDirectories(work.resolve(m.getName()));
      Env caseEnv = new Env(env.sluice, bootstrap, caseWork);
      Throwable error = null;
      Object instance = null;
      try {
        instance = cls.getConstructor(Env.class).newInstance(caseEnv);
        m.invoke(instance);
      } catch (InvocationTargetException e) {
        error = e.getCause();
      } finally {
        if (instance instanceof AutoCloseable c) {
          try {
            c.close();
          } catch (Exception e) {
            error = error != null ? error : e;
          }
        }
      }
      if (error == null) {
        passed++;
        System.out.printf("PASS %s.%s (%d ms)%n", className, m.getName(),
            (System.nanoTime() - start) / 1_000_000);
      } else {
        failed++;
        System.out.printf("FAIL %s.%s: %s%n", className, m.getName(), error);
        error.printStackTrace(System.out);
      }
      System.out.flush();
    }
    if (failed > 0) {
      System.out.println("work directory kept (data, server logs): " + work);
    } else {
      env.deleteWork();
    }
    System.out.printf("%d passed, %d failed%n", passed, failed);
    System.exit(failed == 0 ? 0 : 1);
  }
}
