package dev.shoal.train;

import dev.shoal.train.recipes.FashionData;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The committed Fashion-MNIST sample (300 train, 200 test images) under test resources. */
public final class SampleData {

  private SampleData() {}

  public static Path dir() {
    try {
      return Path.of(SampleData.class.getResource("/fashion-sample").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  public static FashionData load() throws java.io.IOException {
    return FashionData.load(dir(), Integer.MAX_VALUE, line -> {});
  }
}
