/**
 * Width-parallel separable networks (issue 14, training and search half): a ResNeXt-style CNN whose
 * every layer after the stem is split by width into one channel group per device, the transmission
 * policy that says where, what and how the groups exchange feature chunks, one-shot supernet
 * training over sampled policies, the policy search, and the per-device ONNX export.
 */
package dev.shoal.train.separable;
