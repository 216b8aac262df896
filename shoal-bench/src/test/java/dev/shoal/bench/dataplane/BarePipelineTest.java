package dev.shoal.bench.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.graph.SampleInputs;
import dev.shoal.model.ort.OnnxSession;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.model.split.StageChain;
import dev.shoal.model.zoo.ModelZoo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The floor's bare stage processes answer exactly what the in-process chain does, and stop when closed. */
class BarePipelineTest {

  @Test
  void bareStageProcessesAnswerLikeTheChainAndStopWhenClosed(@TempDir Path dir) throws IOException {
    ModelProfile profile = ModelProfile.of(ModelGraph.of(ModelZoo.resNet50Like(32, 0.125, 10, 7), "resnet"));
    Split split = ModelSplitter.split(profile, ModelSplitter.balancedCuts(profile, 3));
    List<Long> pids;
    try (StageChain chain = StageChain.open(split, OnnxSession.Options.DEFAULT)) {
      Map<String, TensorData> first = SampleInputs.random(profile.graph(), 1, 1);
      TensorData expectedFirst = chain.run(first).values().iterator().next();
      try (BarePipeline bare = BarePipeline.start(split, expectedFirst, dir)) {
        pids = bare.pids();
        assertThat(pids).hasSize(3).allMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        for (long seed = 1; seed <= 3; seed++) {
          Map<String, TensorData> in = SampleInputs.random(profile.graph(), 1, seed);
          TensorData expected = chain.run(in).values().iterator().next();
          TensorData got = bare.infer(in.values().iterator().next());
          // the same sessions with the same options on the same bytes: bit for bit
          assertThat(got.shape()).containsExactly(expected.shape());
          assertThat(got.data()).isEqualTo(expected.data());
        }
      }
    }
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("bare stage %d", pid).isFalse();
    }
  }

  @Test
  void anInputOfTheWrongSizeEndsTheChainInsteadOfBeingComputed(@TempDir Path dir) throws IOException {
    ModelProfile profile = ModelProfile.of(ModelGraph.of(ModelZoo.resNet50Like(32, 0.125, 10, 7), "resnet"));
    Split split = ModelSplitter.split(profile, ModelSplitter.balancedCuts(profile, 2));
    TensorData example;
    try (StageChain chain = StageChain.open(split, OnnxSession.Options.DEFAULT)) {
      example = chain.run(SampleInputs.random(profile.graph(), 1, 1)).values().iterator().next();
    }
    try (BarePipeline bare = BarePipeline.start(split, example, dir)) {
      TensorData wrong = new TensorData("x", DType.FLOAT, new long[] {1, 3}, new byte[12]);
      assertThatThrownBy(() -> bare.infer(wrong)).isInstanceOf(IOException.class)
          .hasMessageContaining("closed its connection");
    }
    assertThat(dir.resolve("bare-0.log")).content().contains("expected");
  }
}
