/**
 * Shoal's own wire between coordinator and workers and between workers: tensors to frames and back
 * (checksums, size limits, payloads wrapped not copied), flow-controlled frame streams, and the one
 * place gRPC channels and servers are built ({@link dev.shoal.runtime.wire.GrpcChannels}).
 */
package dev.shoal.runtime.wire;
