/**
 * The merges a plan's fan-outs end in ({@link dev.shoal.runtime.ensemble.Mergers}: top-k fusion of
 * variants, class concatenation, weighted average) and the tensors variant- and class-parallel
 * plans answer with ({@link dev.shoal.runtime.ensemble.EnsembleOutputs}).
 */
package dev.shoal.runtime.ensemble;
