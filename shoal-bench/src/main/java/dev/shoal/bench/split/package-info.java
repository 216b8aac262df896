/**
 * {@code shoal bench split}: what running a model as K chained stages costs on one machine,
 * against the whole model.
 */
package dev.shoal.bench.split;
