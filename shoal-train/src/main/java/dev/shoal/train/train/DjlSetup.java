package dev.shoal.train.train;

/**
 * Process-wide DJL settings that must be in place before the PyTorch engine loads: offline mode
 * (never download) and the number of intra-op threads.
 */
public final class DjlSetup {

  private DjlSetup() {}

  /** Call before the first DJL use in the process; later calls cannot change the thread count. */
  public static void configure(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    System.setProperty("ai.djl.offline", "true");
    System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
    System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
  }
}
