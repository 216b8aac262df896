/**
 * The values every module shares: tensors ({@link dev.shoal.model.TensorData}), their declared
 * specs and element types, and the one error for unusable model files.
 */
package dev.shoal.model;
