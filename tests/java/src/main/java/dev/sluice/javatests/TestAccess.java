package dev.sluice.javatests;

import java.nio.file.Path;
import java.util.List;

/** Lets programs in sub-packages (streams/) make a server the way the test classes do. */
public final class TestAccess {
  private TestAccess() {}

  public static SluiceServer server(Path sluice, Path work) {
    return new Env(sluice, null, work).server("data", List.of());
  }
}
