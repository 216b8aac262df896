/**
 * The coordinator: {@link dev.shoal.runtime.coordinator.PlanBackend} deploys plan graphs on the
 * workers (several named plans of one model, one active, switched atomically), sends each
 * request's inputs to the stages that read them, runs the merges, answers each request exactly
 * once by its one deadline, and re-plans and replays when a worker running a required stage fails
 * ({@link dev.shoal.runtime.coordinator.HeartbeatMonitor}).
 *
 * <p>{@link dev.shoal.runtime.coordinator.ClusterServing} is what {@code shoal serve} deploys on a
 * cluster file: each strategy's plan producer (pipeline, replicated pipeline, variant or class
 * parallel, width parallel, written plans) on the cluster's workers, served by one PlanBackend. It
 * lives here, beside the backend it starts, rather than with the API: the gateway serves any
 * {@link dev.shoal.runtime.serving.ServingBackend} and knows no cluster, and {@code serving}, which
 * the coordinator implements, must not depend back on it.
 */
package dev.shoal.runtime.coordinator;
