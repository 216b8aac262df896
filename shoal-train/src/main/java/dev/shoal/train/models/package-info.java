/**
 * The network architectures trained here: the demo's classifier and a MobileNetV2 for 28x28
 * inputs.
 */
package dev.shoal.train.models;
