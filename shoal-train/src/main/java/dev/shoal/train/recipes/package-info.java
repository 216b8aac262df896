/**
 * The training recipes behind {@code shoal train}: base model, variant family, class-parallel sub-
 * models and the demo classifier, with their reports.
 */
package dev.shoal.train.recipes;
