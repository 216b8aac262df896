/**
 * Shoal's own wire between coordinator and workers and between workers: tensors to frames and back
 * (checksums, size limits, payloads wrapped not copied); the data plane's framed transport on each
 * worker's data port ({@link dev.shoal.runtime.wire.DataCodec}, {@link dev.shoal.runtime.wire.DataServer},
 * {@link dev.shoal.runtime.wire.DataLink}, on a {@link dev.shoal.runtime.wire.DataLoop}); and the
 * one place the control plane's gRPC channels and servers are built
 * ({@link dev.shoal.runtime.wire.GrpcChannels}).
 */
package dev.shoal.runtime.wire;
