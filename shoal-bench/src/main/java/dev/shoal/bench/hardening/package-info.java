/**
 * {@code shoal bench hardening}: attacks and faults against a running service, each with the
 * requests that must still be answered, counted as answered / lost / wrong.
 */
package dev.shoal.bench.hardening;
