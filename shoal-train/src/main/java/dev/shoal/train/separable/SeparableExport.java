package dev.shoal.train.separable;

import dev.shoal.model.family.SeparableManifest;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shoal.model.DType;
import dev.shoal.model.build.GraphBuilder;
import dev.shoal.model.family.ModelInput;
import dev.shoal.model.io.OnnxModelIO;
import dev.shoal.train.export.OnnxModels;
import dev.shoal.train.nn.OnnxExport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Writes a trained separable network under its current policy as per-device ONNX segments (cut at
 * the points that exchange), the whole network as one ONNX, and {@link SeparableManifest}.
 */
public final class SeparableExport {

  public static final String WHOLE_MODEL = "whole.onnx";

  private SeparableExport() {}

  public static SeparableManifest write(SeparableNet net, ModelInput input, Path dir) throws IOException {
    Files.createDirectories(dir);
    SeparableArchitecture arch = net.architecture();
    TransmissionPolicy policy = net.policy();
    int groups = arch.groups();
    OnnxModelIO.write(
        OnnxModels.logits("separable-whole", net, arch.rows(), arch.cols(), arch.classes()), dir.resolve(WHOLE_MODEL));

    // Segment s ends after the s-th exchanging point (or with the last block).
    List<Integer> ends = new ArrayList<>();
    for (int i = 0; i < arch.exchangePoints(); i++) {
      if (policy.points().get(i).exchange()) {
        ends.add(i);
      }
    }
    ends.add(arch.blocks().size() - 1);
    Shape image = new Shape(1, 1, arch.rows(), arch.cols());
    List<SeparableManifest.Segment> segments = new ArrayList<>();
    List<SeparableManifest.Exchange> exchanges = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      int first = 0;
      for (int s = 0; s < ends.size(); s++) {
        int last = ends.get(s);
        GraphBuilder graph = new GraphBuilder("device" + g + "-segment" + s);
        OnnxExport out = new OnnxExport(graph);
        List<SeparableManifest.Port> inputs = new ArrayList<>();
        List<SeparableManifest.Port> outputs = new ArrayList<>();
        String x;
        if (s == 0) {
          x = net.exportStem(out, graph.input(OnnxModels.INPUT, DType.FLOAT, GraphBuilder.BATCH, 1, arch.rows(), arch.cols()));
          inputs.add(port(OnnxModels.INPUT, 1, arch.rows(), arch.cols()));
        } else {
          var shape = arch.blockOutput(first - 1);
          int k = policy.points().get(first - 1).channels(shape.channels());
          String state = graph.input(SeparableManifest.STATE_IN, DType.FLOAT, GraphBuilder.BATCH, shape.channels(), shape.height(), shape.width());
          String received = graph.input(SeparableManifest.RECEIVED, DType.FLOAT, GraphBuilder.BATCH, k, shape.height(), shape.width());
          x = SeparableNet.exportMerge(out, state, received, k, shape.channels());
          inputs.add(port(SeparableManifest.STATE_IN, shape.channels(), shape.height(), shape.width()));
          inputs.add(port(SeparableManifest.RECEIVED, k, shape.height(), shape.width()));
        }
        for (int b = first; b <= last; b++) {
          x = net.exportBlock(out, b, g, x);
        }
        boolean lastSegment = s == ends.size() - 1;
        if (lastSegment) {
          graph.node("Identity", net.exportPartialLogits(out, g, x)).outputs(SeparableManifest.PARTIAL_LOGITS).out();
          graph.output(SeparableManifest.PARTIAL_LOGITS, DType.FLOAT, GraphBuilder.BATCH, arch.classes());
          outputs.add(new SeparableManifest.Port(SeparableManifest.PARTIAL_LOGITS, List.of(-1L, (long) arch.classes())));
        } else {
          var shape = arch.blockOutput(last);
          ExchangePoint p = policy.points().get(last);
          int k = p.channels(shape.channels());
          graph.node("Identity", x).outputs(SeparableManifest.STATE_OUT).out();
          graph.node("Identity", SeparableNet.exportChunk(out, x, k)).outputs(SeparableManifest.SEND).out();
          graph.output(SeparableManifest.STATE_OUT, DType.FLOAT, GraphBuilder.BATCH, shape.channels(), shape.height(), shape.width());
          graph.output(SeparableManifest.SEND, DType.FLOAT, GraphBuilder.BATCH, k, shape.height(), shape.width());
          outputs.add(port(SeparableManifest.STATE_OUT, shape.channels(), shape.height(), shape.width()));
          outputs.add(port(SeparableManifest.SEND, k, shape.height(), shape.width()));
          exchanges.add(
              new SeparableManifest.Exchange(
                  last + 1, "d" + g + "s" + s, SeparableManifest.SEND, "d" + p.sendTo()[g] + "s" + (s + 1),
                  SeparableManifest.RECEIVED, List.of(-1L, (long) k, (long) shape.height(), (long) shape.width()),
                  p.codec().id(), p.codec().bytes(k, shape.pixels())));
        }
        String file = "device" + g + "-segment" + s + ".onnx";
        byte[] bytes = graph.build().toByteArray();
        Files.write(dir.resolve(file), bytes);
        segments.add(
            new SeparableManifest.Segment(
                g, s, file, sha256(bytes), first + 1, last + 1, inputs, outputs,
                net.segmentMacsPerDevice(image, first, last)));
        first = last + 1;
      }
    }
    SeparableManifest manifest =
        new SeparableManifest(
            SeparableManifest.FORMAT,
            groups,
            arch.classes(),
            input,
            new ObjectMapper().readTree(policy.toJson()),
            WHOLE_MODEL,
            new SeparableManifest.Output(
                OnnxModels.LOGITS, "sum",
                segments.stream().filter(s -> s.lastBlock() == arch.blocks().size()).map(SeparableManifest.Segment::id).toList()),
            segments,
            exchanges,
            policy.bytes(arch),
            TransmissionPolicy.baseline(arch).bytes(arch),
            net.macsPerDevice(image));
    manifest.write(dir);
    policy.write(dir.resolve("policy.json"));
    return manifest;
  }

  private static SeparableManifest.Port port(String name, long... dims) {
    List<Long> shape = new ArrayList<>();
    shape.add(-1L);
    for (long d : dims) {
      shape.add(d);
    }
    return new SeparableManifest.Port(name, shape);
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
