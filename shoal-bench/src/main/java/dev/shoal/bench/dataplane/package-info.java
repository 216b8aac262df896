/**
 * {@code shoal bench dataplane}: what the runtime's data path costs against the floors it is built
 * on, measured side by side in one run: served pipeline latency against the same stages chained in
 * one process, CPU and throughput under concurrent load (with and without dynamic batching), the
 * cost of one more hop against plain gRPC and TCP ping-pongs, variant parallelism against its
 * compute-only ceiling, a replicated bottleneck stage, and plan switching under load. Requests go
 * through the gateway's KServe v2 REST API with the binary tensor data extension.
 */
package dev.shoal.bench.dataplane;
