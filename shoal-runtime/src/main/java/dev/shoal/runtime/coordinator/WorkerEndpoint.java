package dev.shoal.runtime.coordinator;

/**
 * A worker of the cluster: its device name (as the cluster file and the plan call it), HOST:PORT
 * of its control port, and HOST:PORT of its data port when the coordinator and its peers must
 * dial another address than the one its heartbeats announce (a relay, a forwarded port); null:
 * the control host with the announced port.
 */
public record WorkerEndpoint(String name, String address, String dataAddress) {
  /** A worker whose data port is the one its heartbeats announce. */
  public WorkerEndpoint(String name, String address) {
    this(name, address, null);
  }
}
