package dev.shoal.train.recipes;

import dev.shoal.model.family.ModelInput;
import dev.shoal.train.data.BatchMaker;
import dev.shoal.train.data.LabelledImages;
import dev.shoal.train.data.Normalisation;
import dev.shoal.train.data.Split;
import dev.shoal.train.export.OnnxModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/** The train and test splits of an MNIST-format directory, normalised for Fashion-MNIST. */
public record FashionData(BatchMaker train, BatchMaker test, int numClasses) {

  /** Loads {@code dir}, keeping the first {@code trainLimit} training images; the test split whole. */
  public static FashionData load(Path dir, int trainLimit, Consumer<String> log) throws IOException {
    Normalisation norm = Normalisation.FASHION_MNIST;
    LabelledImages train = LabelledImages.load(dir, Split.TRAIN).head(trainLimit);
    LabelledImages test = LabelledImages.load(dir, Split.TEST);
    if (train.rows() != test.rows() || train.cols() != test.cols()) {
      throw new IOException(
          dir + ": train images are " + train.rows() + "x" + train.cols() + " but test images "
              + test.rows() + "x" + test.cols());
    }
    int classes = Math.max(train.numClasses(), test.numClasses());
    log.accept(
        "data: " + train.count() + " train, " + test.count() + " test images of " + train.rows() + "x"
            + train.cols() + ", " + classes + " classes (" + dir + ")");
    return new FashionData(new BatchMaker(train, norm), new BatchMaker(test, norm), classes);
  }

  public int rows() {
    return train.data().rows();
  }

  public int cols() {
    return train.data().cols();
  }

  /** The input description written into manifests. */
  public ModelInput modelInput() {
    Normalisation n = train.normalisation();
    return new ModelInput(
        OnnxModels.INPUT, List.of(-1L, 1L, (long) rows(), (long) cols()), n.mean(), n.std(), n.formula());
  }
}
