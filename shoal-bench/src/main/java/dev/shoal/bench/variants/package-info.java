/**
 * {@code shoal bench variants}: the variant-parallelism paper's accuracy and latency table (base,
 * variants, ensembles, class parallelism), with paired confidence intervals.
 */
package dev.shoal.bench.variants;
