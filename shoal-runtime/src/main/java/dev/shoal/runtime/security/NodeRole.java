package dev.shoal.runtime.security;

import java.util.Locale;

/**
 * What a node's certificate allows it to do, written in its subject's OU. Only a coordinator
 * deploys, heartbeats, drains and reads results; a worker only pushes frames to the next stage.
 */
public enum NodeRole {
  COORDINATOR,
  WORKER;

  /** The OU value in certificates: {@code coordinator} or {@code worker}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static NodeRole ofLabel(String label) {
    for (NodeRole r : values()) {
      if (r.label().equals(label)) {
        return r;
      }
    }
    throw new IllegalArgumentException("unknown node role '" + label + "' (coordinator or worker)");
  }
}
