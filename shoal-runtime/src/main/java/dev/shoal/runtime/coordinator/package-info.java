/**
 * The coordinator: {@link dev.shoal.runtime.coordinator.PlanBackend} deploys plan graphs on the
 * workers (several named plans of one model, one active, switched atomically), sends each
 * request's inputs to the stages that read them, runs the merges, answers each request exactly
 * once by its one deadline, and re-plans and replays when a worker running a required stage fails
 * ({@link dev.shoal.runtime.coordinator.HeartbeatMonitor}).
 */
package dev.shoal.runtime.coordinator;
