/**
 * The manifests of model families on disk (variant families, class-parallel sub-models, Fluid
 * networks), their shared input, and the variants' top-k fusion rule.
 */
package dev.shoal.model.family;
