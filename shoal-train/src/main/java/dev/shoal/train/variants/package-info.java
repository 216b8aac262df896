/**
 * Accuracy of variant ensembles fused by top-k fusion, as the gateway fuses them.
 */
package dev.shoal.train.variants;
