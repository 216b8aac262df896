package dev.shoal.train.separable;

import dev.shoal.train.data.BatchMaker;
import dev.shoal.train.data.LabelledImages;
import dev.shoal.train.data.Normalisation;
import dev.shoal.train.data.Split;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Training, validation and test images: the validation split is the last {@code validation}
 * images of the training set (the policy search scores on it, never on the test set), the
 * training split the images before it (at most {@code trainLimit}), the test split whole.
 */
public record SeparableData(BatchMaker train, BatchMaker validation, BatchMaker test, int classes) {

  public static SeparableData load(Path dir, int validation, int trainLimit, Consumer<String> log) throws IOException {
    LabelledImages all = LabelledImages.load(dir, Split.TRAIN);
    LabelledImages test = LabelledImages.load(dir, Split.TEST);
    if (validation < 1 || validation >= all.count()) {
      throw new IllegalArgumentException(
          "the validation split must hold 1.." + (all.count() - 1) + " of the " + all.count() + " training images, got "
              + validation);
    }
    int trainCount = Math.min(trainLimit, all.count() - validation);
    LabelledImages train = range(all, 0, trainCount);
    LabelledImages val = range(all, all.count() - validation, all.count());
    int classes = Math.max(all.numClasses(), test.numClasses());
    log.accept(String.format(
        "data: %d train, %d validation (the last of the training set), %d test images of %dx%d, %d classes (%s)",
        train.count(), val.count(), test.count(), all.rows(), all.cols(), classes, dir));
    Normalisation norm = Normalisation.FASHION_MNIST;
    return new SeparableData(new BatchMaker(train, norm), new BatchMaker(val, norm), new BatchMaker(test, norm), classes);
  }

  public int rows() {
    return train.data().rows();
  }

  public int cols() {
    return train.data().cols();
  }

  static LabelledImages range(LabelledImages images, int from, int to) {
    int plane = images.rows() * images.cols();
    byte[] pixels = new byte[(to - from) * plane];
    System.arraycopy(images.pixels(), from * plane, pixels, 0, pixels.length);
    byte[] labels = new byte[to - from];
    System.arraycopy(images.labels(), from, labels, 0, labels.length);
    return new LabelledImages(to - from, images.rows(), images.cols(), pixels, labels);
  }
}
