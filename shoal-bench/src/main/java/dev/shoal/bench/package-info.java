/**
 * What every benchmark shares: throw-away cluster certificates, result tables (printed, CSV,
 * JSON), nearest-rank percentiles, the host's load average that every figure is reported beside,
 * and the one KServe v2 REST client (JSON or binary tensors) the benchmarks and the demo send
 * requests with.
 */
package dev.shoal.bench;
