/**
 * The one inference service the API layer serves from ({@link
 * dev.shoal.runtime.serving.ServingBackend}): calls with one deadline, results, failures by kind,
 * served-model metadata, run-time plan control, and the single-machine backend.
 */
package dev.shoal.runtime.serving;
