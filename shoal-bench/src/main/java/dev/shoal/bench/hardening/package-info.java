/**
 * {@code shoal bench hardening}: attacks and faults against a running service, each with the
 * requests that must still be answered, counted as answered / lost / wrong, and the re-plans that
 * blamed a healthy worker: on the inference API ({@link dev.shoal.bench.hardening.HardeningBench})
 * and on the peer links ({@link dev.shoal.bench.hardening.PeerRows}).
 */
package dev.shoal.bench.hardening;
