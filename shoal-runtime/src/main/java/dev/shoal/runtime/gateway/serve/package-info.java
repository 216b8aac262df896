/**
 * What {@code shoal serve} deploys on a cluster file: each strategy's plan producer (pipeline,
 * replicated pipeline, variant or class parallel, written plans) served by one
 * {@link dev.shoal.runtime.coordinator.PlanBackend}.
 */
package dev.shoal.runtime.gateway.serve;
