package dev.shoal.bench.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shoal.model.cost.ModelProfile;
import dev.shoal.model.graph.ModelGraph;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.split.ModelSplitter;
import dev.shoal.model.split.Split;
import dev.shoal.model.zoo.ModelZoo;
import dev.shoal.bench.BenchCerts;
import dev.shoal.runtime.worker.OrtStack;
import dev.shoal.runtime.worker.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A link taken down mid-stream in an emulated LAN of network namespaces (needs root): the worker
 * behind it stops answering heartbeats, the coordinator re-plans on the survivors, and every
 * request is still answered with the whole model's output.
 */
class LinkDownTest {

  @Test
  void aLinkDownMidStreamLosesNoRequest() throws Exception {
    Path work = Files.createDirectories(Path.of("target", "link-down-test"));
    Path certs = BenchCerts.provision(work.resolve("certs"), List.of("w1", "w2", "w3"));
    Path modelFile = work.resolve("model.onnx");
    OnnxModelIO.write(ModelZoo.mobileNetV2(32, 0.25, 10, 3), modelFile);
    Split split = OrtStack.call("split", () -> {
      ModelProfile profile = ModelProfile.of(ModelGraph.load(modelFile));
      return ModelSplitter.split(profile, ModelSplitter.balancedCuts(profile, 2));
    });
    Path stageDir = Files.createDirectories(work.resolve("stages"));
    split.writeTo(stageDir);
    List<WorkerProcess> workers = new ArrayList<>();
    try (NetNamespaces net = new NetNamespaces(3, 0)) {
      try {
        for (int i = 1; i <= 3; i++) {
          workers.add(WorkerProcess.start(net.exec(i), "w" + i, net.address(i) + ":7070", 4.0, certs.resolve("w" + i),
              work.resolve("w" + i + ".log")));
        }
        List<String> args = new ArrayList<>(List.of(modelFile.toString(), stageDir.toString(),
            certs.resolve(BenchCerts.COORDINATOR).toString(),
            "400", "8", "raw", "--fault-after=150", "--fault=ip -n " + net.switchNamespace() + " link set p2 down"));
        workers.forEach(w -> args.add(w.name() + "=" + w.address()));
        JsonNode r = PipelineThroughput.probe(net.exec(0), args, work.resolve("probe.log"));
        assertThat(r.get("errors").asInt()).isZero();
        assertThat(r.get("completed").asInt()).isEqualTo(400);
        assertThat(r.get("mismatches").asInt()).isZero();
        assertThat(r.get("recoveries")).isNotEmpty();
        assertThat(r.get("recoveries").get(0).get("worker").asText()).isEqualTo("w2");
        System.out.println("link down: " + r.get("recoveries"));
      } finally {
        workers.forEach(WorkerProcess::kill);
      }
    }
  }
}
