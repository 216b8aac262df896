/**
 * The training loop on DJL's PyTorch engine: configuration, objectives and losses, distillation
 * teachers, accuracy.
 */
package dev.shoal.train.train;
