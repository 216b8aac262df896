/**
 * The user-facing inference API: KServe v2 over REST (Netty, JSON and the binary tensor data
 * extension) and gRPC, request limits, API keys and TLS, Prometheus metrics and the status page. It
 * depends on one inference service, {@link dev.shoal.runtime.serving.ServingBackend}, and on no
 * particular backend.
 */
package dev.shoal.runtime.gateway;
