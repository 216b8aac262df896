package dev.shoal.runtime.coordinator;

/** A worker of the cluster: its device name (as the cluster file and the plan call it) and HOST:PORT. */
public record WorkerEndpoint(String name, String address) {}
