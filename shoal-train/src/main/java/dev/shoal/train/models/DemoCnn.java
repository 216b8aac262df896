package dev.shoal.train.models;

import dev.shoal.train.nn.Act;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.nn.ConvBn;
import dev.shoal.train.nn.Dense;
import dev.shoal.train.nn.GlobalPool;
import dev.shoal.train.nn.MaxPool;

/**
 * The product demo's classifier: five 3x3 conv-BN-ReLU blocks (16 | pool | 32, 48 | pool | 64, 80
 * channels), global average pooling, a linear classifier. Plain and sequential, so it splits into
 * pipeline stages anywhere; about 93k parameters (~370 KB of float32), 7.3M MACs per image (pooling
 * early keeps CPU training affordable).
 */
public final class DemoCnn {

  private DemoCnn() {}

  public static Chain build(int classes) {
    return new Chain()
        .add(ConvBn.dense(16, 3, 1, Act.RELU))
        .add(new MaxPool(2))
        .add(ConvBn.dense(32, 3, 1, Act.RELU))
        .add(ConvBn.dense(48, 3, 1, Act.RELU))
        .add(new MaxPool(2))
        .add(ConvBn.dense(64, 3, 1, Act.RELU))
        .add(ConvBn.dense(80, 3, 1, Act.RELU))
        .add(new GlobalPool())
        .add(new Dense(classes));
  }
}
