/**
 * {@code shoal bench pipeline}: transport overhead per hop against a plain gRPC echo, and measured
 * pipeline throughput against the cost model's prediction on loopback and on tbf-shaped links
 * between network namespaces; also the mutual-TLS overhead bench and the checks of distributed
 * answers against the single-machine model.
 */
package dev.shoal.bench.pipeline;
