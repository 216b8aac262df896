package dev.shoal.train.fluid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shoal.train.SampleData;
import dev.shoal.train.recipes.FashionData;
import dev.shoal.train.train.DjlSetup;
import dev.shoal.train.train.Objective;
import dev.shoal.train.train.TrainConfig;
import dev.shoal.train.train.TrainingSession;
import ai.djl.ndarray.types.Shape;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FluidNetTest {

  @BeforeAll
  static void setUp() {
    DjlSetup.configure(1);
  }

  @Test
  void phaseOneTrainsWithoutDiverging() throws Exception {
    FashionData data = SampleData.load();
    FluidNet net = new FluidNet(FluidLayout.standard(28, 28, 10, 2));
    try (TrainingSession s = new TrainingSession(net, new Objective.EachOutput(), TrainConfig.standard(2, 1).withBatchSize(50),
        new Shape(1, 28, 28), data.train().data().count())) {
      net.setPhase(1);
      var epochs = s.fit(data.train(), Optional.empty(), r -> System.out.println(r));
      assertThat(epochs).hasSize(2);
    }
  }
}
