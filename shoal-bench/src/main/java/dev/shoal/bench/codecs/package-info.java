/**
 * {@code shoal bench codecs}: the codec choice of {@code shoal policy} on trained Fashion-MNIST CNNs
 * of different shapes (bytes per cut per codec, chosen codec, top-1 agreement), and every codec's
 * encode/decode speed on a ReLU-like tensor.
 */
package dev.shoal.bench.codecs;
