package dev.shoal.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.train.SampleData;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BatchMakerTest {

  @Test
  void normalisesWithoutAugmentation() throws IOException {
    LabelledImages test = LabelledImages.load(SampleData.dir(), Split.TEST);
    BatchMaker maker = new BatchMaker(test, Normalisation.FASHION_MNIST);
    float[] x = maker.images(maker.sequentialOrder(), 3, 5, Augmentation.NONE, null);
    assertThat(x).hasSize(2 * 28 * 28);
    int u = test.pixels()[3 * 784 + 400] & 0xff;
    assertThat(x[400]).isEqualTo((u / 255f - 0.2860f) / 0.3530f);
    assertThat(maker.labels(maker.sequentialOrder(), 3, 5)).containsExactly(test.label(3), test.label(4));
  }

  @Test
  void augmentationIsSeededAndKeepsPixelsFromTheImage() throws IOException {
    LabelledImages test = LabelledImages.load(SampleData.dir(), Split.TEST);
    BatchMaker maker = new BatchMaker(test, Normalisation.FASHION_MNIST);
    int[] order = maker.sequentialOrder();
    float[] a = maker.images(order, 0, 50, Augmentation.STANDARD, new Random(7));
    float[] b = maker.images(order, 0, 50, Augmentation.STANDARD, new Random(7));
    float[] plain = maker.images(order, 0, 50, Augmentation.NONE, null);
    assertThat(a).isEqualTo(b);
    assertThat(a).isNotEqualTo(plain);
    // Flips and shifts move pixels around but never invent intensities: every augmented value is
    // one of the image's own values or the background that fills the padding.
    float background = Normalisation.FASHION_MNIST.background();
    for (int i = 0; i < 50; i++) {
      java.util.Set<Float> own = new java.util.HashSet<>();
      for (int p = i * 784; p < (i + 1) * 784; p++) {
        own.add(plain[p]);
      }
      own.add(background);
      for (int p = i * 784; p < (i + 1) * 784; p++) {
        assertThat(own).contains(a[p]);
      }
    }
  }

  @Test
  void viewsAreIndependentAugmentationsOfTheSameImage() throws IOException {
    LabelledImages test = LabelledImages.load(SampleData.dir(), Split.TEST);
    BatchMaker maker = new BatchMaker(test, Normalisation.FASHION_MNIST);
    int[] order = maker.sequentialOrder();
    int views = 4;
    float[] x = maker.images(order, 0, 20, Augmentation.STANDARD, new Random(3), views);
    assertThat(x).hasSize(20 * views * 784);
    assertThat(maker.images(order, 0, 20, Augmentation.STANDARD, new Random(3), 1))
        .isEqualTo(maker.images(order, 0, 20, Augmentation.STANDARD, new Random(3)));
    float[] plain = maker.images(order, 0, 20, Augmentation.NONE, null, views);
    int differing = 0;
    for (int i = 0; i < 20; i++) {
      for (int v = 0; v < views; v++) {
        int at = (i * views + v) * 784;
        // without augmentation every view is the image itself
        assertThat(java.util.Arrays.copyOfRange(plain, at, at + 784))
            .isEqualTo(maker.images(order, i, i + 1, Augmentation.NONE, null));
        if (v > 0 && !java.util.Arrays.equals(x, at, at + 784, x, at - 784, at)) {
          differing++;
        }
      }
    }
    // 50 crop-and-flip outcomes per view: nearly all neighbouring views of an image differ
    assertThat(differing).isGreaterThan(20 * (views - 1) / 2);
  }

  @Test
  void shuffleIsAPermutation() throws IOException {
    LabelledImages test = LabelledImages.load(SampleData.dir(), Split.TEST);
    int[] order = new BatchMaker(test, Normalisation.FASHION_MNIST).shuffledOrder(new Random(1));
    assertThat(order).hasSize(200);
    assertThat(java.util.Arrays.stream(order).sorted().toArray())
        .isEqualTo(java.util.stream.IntStream.range(0, 200).toArray());
  }
}
