/**
 * A small builder of valid ONNX models, for tests and the model zoo.
 */
package dev.shoal.model.build;
