package dev.shoal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.DType;
import dev.shoal.model.TensorData;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.io.Npy;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.model.zoo.ModelZoo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model commands end to end, in process: real files, real ONNX Runtime sessions. */
class ModelCommandsTest {

  @TempDir Path dir;
  Path model;

  record Result(int status, String out, String err) {}

  @BeforeEach
  void writeModel() {
    model = dir.resolve("multi.onnx");
    OnnxModelIO.write(ModelZoo.multiInputOutput(16, 8, 5, 3), model);
  }

  static Result shoal(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int status = ShoalCli.commandLine().execute(args);
      return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void profileJsonHasEveryNodeAndTheTotals() throws Exception {
    Result r = shoal("profile", model.toString(), "--format", "json");
    assertThat(r.status()).as(r.err()).isZero();
    JsonNode json = new ObjectMapper().readTree(r.out());
    assertThat(json.get("nodes")).hasSize(17);
    JsonNode first = json.get("nodes").get(0);
    for (String field : new String[] {"position", "name", "op", "macs", "paramBytes", "outBytes", "cutBytes"}) {
      assertThat(first.has(field)).as(field).isTrue();
    }
    long macs = 0;
    for (JsonNode n : json.get("nodes")) {
      macs += n.get("macs").asLong();
    }
    assertThat(json.get("totalMacs").asLong()).isEqualTo(macs).isPositive();
    assertThat(json.get("totalParamBytes").asLong()).isPositive();
  }

  @Test
  void profileMeasuresAndPlots() {
    Path png = dir.resolve("p.png");
    Result r = shoal("profile", model.toString(), "--measure", "--runs", "3", "--plot", png.toString());
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out()).contains("ms").contains("17 nodes");
    assertThat(png).isNotEmptyFile();
  }

  @Test
  void splitThenRunGivesTheWholeModelsOutput() throws Exception {
    Path image = dir.resolve("image.npy");
    Path features = dir.resolve("features.npy");
    Random random = new Random(5);
    Npy.write(TensorData.ofFloats("image", new long[] {2, 3, 16, 16}, randoms(random, 2 * 3 * 16 * 16)), image);
    Npy.write(TensorData.ofFloats("features", new long[] {2, 8}, randoms(random, 16)), features);
    Path out = dir.resolve("split");
    Result split = shoal("split", model.toString(), "--at", "4,9,13", "--out", out.toString());
    assertThat(split.status()).as(split.err()).isZero();
    assertThat(out.resolve("stage-3.onnx")).isNotEmptyFile();

    Path whole = dir.resolve("whole.npy");
    Path chained = dir.resolve("chained.npy");
    Result a = shoal("run", model.toString(), "--input", "image=" + image, "--input", "features=" + features,
        "--output", whole.toString());
    Result b = shoal("run", out.toString(), "--input", "image=" + image, "--input", "features=" + features,
        "--output", chained.toString());
    assertThat(a.status()).as(a.err()).isZero();
    assertThat(b.status()).as(b.err()).isZero();
    assertThat(b.out()).contains("4 chained stages").contains(" ms");
    float[] w = Npy.read(whole).floats();
    float[] c = Npy.read(chained).floats();
    assertThat(w).hasSize(10);
    for (int i = 0; i < w.length; i++) {
      assertThat((double) Math.abs(w[i] - c[i])).isLessThanOrEqualTo(1e-5);
    }
  }

  @Test
  void stagesOptionBalances() {
    Result r = shoal("split", model.toString(), "--stages", "2", "--out", dir.resolve("s").toString());
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(dir.resolve("s/stage-1.onnx")).exists();
    assertThat(dir.resolve("s/stage-2.onnx")).doesNotExist();
  }

  @Test
  void badInputsFailWithOneLineAndLeaveOutUntouched() throws Exception {
    Path out = dir.resolve("out");
    assertThat(shoal("split", model.toString(), "--at", "5", "--out", out.toString()).status()).isZero();
    byte[] manifestBefore = Files.readAllBytes(out.resolve("split.json"));
    Path missing = dir.resolve("fresh");

    byte[] bytes = Files.readAllBytes(model);
    Path truncated = dir.resolve("truncated.onnx");
    Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
    Path text = dir.resolve("text.onnx");
    Files.writeString(text, "definitely not protobuf\n");
    Path noOutputs = dir.resolve("no-outputs.onnx");
    ModelProto m = OnnxModelIO.read(model);
    Files.write(noOutputs, m.toBuilder().setGraph(m.getGraph().toBuilder().clearOutput()).build().toByteArray());
    Path unknownOp = dir.resolve("einsum.onnx");
    GraphBuilder g = new GraphBuilder("einsum");
    String a = g.input("a", DType.FLOAT, GraphBuilder.BATCH, 3, 4);
    String w = g.randomWeight("w", new Random(1), 0.1f, 4, 5);
    String y = g.node("Einsum", a, w).name("mix").attr("equation", "bij,jk->bik").out();
    g.output(g.node("Relu", y).out(), DType.FLOAT);
    OnnxModelIO.write(g.build(), unknownOp);

    String[][] cases = {
        {truncated.toString(), "--at", "1", "truncated"},
        {text.toString(), "--at", "1", "not an ONNX model"},
        {noOutputs.toString(), "--at", "1", "model has no outputs"},
        {unknownOp.toString(), "--at", "0", "no cost rule for op 'Einsum' (node 'mix'"},
        {model.toString(), "--at", "3,99", "cut position 99 is out of range"},
        {model.toString(), "--at", "7,3", "strictly increasing"},
        {model.toString(), "--stages", "99", "cannot make 99 stages"},
    };
    for (String[] c : cases) {
      for (Path target : new Path[] {out, missing}) {
        Result r = shoal("split", c[0], c[1], c[2], "--out", target.toString());
        assertThat(r.status()).as(String.join(" ", c)).isEqualTo(1);
        String[] lines = r.err().strip().split("\n");
        String last = lines[lines.length - 1];
        assertThat(last).startsWith("shoal split: ").contains(c[3]);
        assertThat(r.err().lines().filter(l -> l.startsWith("shoal split:")).count()).isEqualTo(1);
      }
      assertThat(Files.readAllBytes(out.resolve("split.json"))).isEqualTo(manifestBefore);
      assertThat(missing).doesNotExist();
      try (Stream<Path> files = Files.list(dir)) {
        assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("."));
      }
    }
    Result profile = shoal("profile", truncated.toString());
    assertThat(profile.status()).isEqualTo(1);
    assertThat(profile.err()).contains("shoal profile: " + truncated);
  }

  @Test
  void trainVariantsRefusesABadTeacherOrFamilyBeforeWritingAnything() {
    Path out = dir.resolve("variants");
    String sample = "../shoal-train/src/test/resources/fashion-sample";
    String base = "../models/fashion/base/base.onnx";
    // each case: the extra arguments, then what the error says
    List<List<String>> cases = List.of(
        List.of("--distill-weight", "0.5", "--distill-weight and --distill-temperature need --teacher"),
        List.of("--teacher", dir.resolve("absent.onnx").toString(), "does not exist"),
        List.of("--teacher", "../models/fashion/variants/v28h128.onnx", "a teacher needs an output named 'logits'"),
        List.of("--teacher", base, "--distill-weight", "1", "distillation weight must be in [0, 1), got 1.0"),
        List.of("--variant", "v26:26:0.4", "expected NAME:RESOLUTION:WIDTH:HEAD"),
        List.of("--variant", "a:28:0.4:96", "--variant", "a:24:0.4:96", "variant names must be unique"),
        List.of("--width", "0.4", "--variant", "v26:26:0.4:144", "--width scales the default family"));
    for (List<String> c : cases) {
      List<String> args = new ArrayList<>(List.of("train", "variants", "--data", sample, "--epochs", "1",
          "--out", out.toString()));
      args.addAll(c.subList(0, c.size() - 1));
      Result r = shoal(args.toArray(String[]::new));
      assertThat(r.status()).as(String.join(" ", args)).isEqualTo(1);
      assertThat(r.err()).contains("shoal train: ").contains(c.get(c.size() - 1));
      assertThat(out).doesNotExist();
    }
  }

  @Test
  void demoServesFromWorkerProcessesAndLosesNothingWhenOneIsKilled() throws Exception {
    Path out = dir.resolve("demo");
    Result r = shoal("demo", "--device-ms", "20,30", "--images", "40", "--concurrency", "4", "--out", out.toString());
    assertThat(r.status()).as(r.out() + r.err()).isZero();
    JsonNode json = new ObjectMapper().readTree(out.resolve("demo.json").toFile());
    assertThat(json.get("phase1").get("answered").asInt()).isEqualTo(40);
    assertThat(json.get("phase1").get("disagreeingWithSingleMachine").asInt()).isZero();
    JsonNode failover = json.get("failover");
    assertThat(failover.get("answered").asInt()).isEqualTo(40);
    assertThat(failover.get("lostRequests").asInt()).isZero();
    assertThat(failover.get("disagreeingWithSingleMachine").asInt()).isZero();
    assertThat(failover.get("recoveries")).isNotEmpty();
  }

  @Test
  void benchSplitWritesItsResults() throws Exception {
    Path out = dir.resolve("bench");
    Result r = shoal("bench", "split", "--stages", "2", "--warmup", "0", "--rounds", "2", "--out", out.toString());
    assertThat(r.status()).as(r.out() + r.err()).isZero();
    JsonNode json = new ObjectMapper().readTree(out.resolve("split-overhead.json").toFile());
    assertThat(json.get("rows")).hasSize(2);
    assertThat(json.get("rows").get(1).get("stages").asInt()).isEqualTo(2);
    assertThat(json.get("meta").get("nodes").asInt()).isGreaterThanOrEqualTo(150);
    assertThat(Files.readAllLines(out.resolve("split-overhead.csv"))).hasSize(3);
    assertThat(out.resolve("split-overhead.png")).isNotEmptyFile();
  }

  private static float[] randoms(Random random, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = random.nextFloat() * 2 - 1;
    }
    return v;
  }
}
