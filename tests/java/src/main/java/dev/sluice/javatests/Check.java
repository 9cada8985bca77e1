package dev.sluice.javatests;

import java.util.Objects;

/** Assertions; a failed one throws AssertionError with what was expected and what was seen. */
public final class Check {
  private Check() {}

  public static void that(boolean condition, String message) {
    if (!condition) {
      throw new AssertionError(message);
    }
  }

  public static void equal(Object expected, Object actual, String what) {
    if (!Objects.equals(expected, actual)) {
      throw new AssertionError(what + ": expected " + expected + ", got " + actual);
    }
  }

  /** Runs BODY and returns the exception it threw, or any of its causes, of type TYPE. */
  public static <T extends Throwable> T throwsCause(Class<T> type, ThrowingRunnable body,
      String what) {
    try {
      body.run();
    } catch (Throwable t) {
      for (Throwable c = t; c != null; c = c.getCause()) {
        if (type.isInstance(c)) {
          return type.cast(c);
        }
      }
      throw new AssertionError(what + ": expected " + type.getSimpleName() + ", got " + t, t);
    }
    throw new AssertionError(what + ": expected " + type.getSimpleName() + ", nothing thrown");
  }

  /** A body that may throw anything. */
  @FunctionalInterface
  public interface ThrowingRunnable {
    void run() throws Exception;
  }
}
