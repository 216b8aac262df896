package dev.shoal.runtime.ensemble;

import dev.shoal.runtime.serving.ServingBackend;

/**
 * One member of a fan-out plan: a backend (a worker running one variant or one class subset, or a
 * local session) and the name of its model there.
 */
public record EnsembleMember(String name, ServingBackend backend, String model) {}
