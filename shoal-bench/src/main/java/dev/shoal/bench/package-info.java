/**
 * What every benchmark shares: throw-away cluster certificates, result tables (printed, CSV,
 * JSON), nearest-rank percentiles and the one KServe v2 REST client the benchmarks and the demo
 * send requests with.
 */
package dev.shoal.bench;
