package dev.shoal.train.models;

import dev.shoal.train.nn.Act;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.nn.ConvBn;
import dev.shoal.train.nn.Dense;
import dev.shoal.train.nn.DenseLayer;
import dev.shoal.train.nn.GlobalPool;
import dev.shoal.train.nn.MaxPool;

/**
 * A small DenseNet for 28x28 single-channel inputs, the dense-concatenation shape among the CNNs
 * `shoal bench codecs` chooses codecs for: a 3x3 stem of 24 channels and a 2x2 max pool to 14x14,
 * then three dense blocks of 4 layers (growth 12) at 14x14, 7x7 and 7x7, each block but the last
 * followed by a transition (1x1 conv halving the channels, then a 2x2 max pool, except before the
 * last block); global average pooling, a linear classifier. Max pooling stands in for DenseNet's
 * average pooling in the transitions, as the project's other CNNs pool.
 */
public final class DenseNetStyle {

  static final int STEM = 24;
  static final int GROWTH = 12;
  static final int LAYERS = 4;

  private DenseNetStyle() {}

  public static Chain build(int classes) {
    Chain net = new Chain().add(ConvBn.dense(STEM, 3, 1, Act.RELU)).add(new MaxPool(2));
    int channels = STEM;
    for (int block = 0; block < 3; block++) {
      for (int i = 0; i < LAYERS; i++) {
        net.add(new DenseLayer(GROWTH));
        channels += GROWTH;
      }
      if (block < 2) {
        channels /= 2;
        net.add(ConvBn.dense(channels, 1, 1, Act.RELU));
        if (block == 0) {
          net.add(new MaxPool(2));
        }
      }
    }
    return net.add(new GlobalPool()).add(new Dense(classes));
  }
}
