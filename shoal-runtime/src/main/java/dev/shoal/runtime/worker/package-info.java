/**
 * The worker process ({@code shoal worker}): hosts stages of any plans and epochs keyed by (epoch,
 * stage id), joins each request's inputs, runs the stage's ONNX Runtime session, and sends the
 * outputs straight to every consumer's worker (peer to peer) and to the coordinator. Emulates a
 * slower device when told to.
 */
package dev.shoal.runtime.worker;
