/**
 * Codecs for the cuts of an imported model, chosen offline: {@link
 * dev.shoal.runtime.codec.choice.CodecChooser} tries every codec at every cut of a split on sample
 * inputs and keeps the fewest bytes within a top-1 agreement bound ({@code shoal policy}); {@link
 * dev.shoal.runtime.codec.choice.CodedStageChain} runs a split with its cuts' codecs applied as the
 * runtime applies them ({@code shoal run SPLIT_DIR}).
 */
package dev.shoal.runtime.codec.choice;
