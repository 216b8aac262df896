package dev.shoal.model.zoo;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.shoal.model.DType;
import dev.shoal.model.build.GraphBuilder;
import java.util.List;
import java.util.Random;

/**
 * Well-known network shapes with random, seeded weights, built with {@link GraphBuilder}: the test
 * models of the splitter and the profiles of the planner. Weights are uniform with a fan-in scale
 * (variance-preserving), so activations stay of order one through deep graphs and numerical
 * comparisons are meaningful. Every model has the symbolic batch dimension {@code N}.
 *
 * <p>The structures follow the papers (MobileNetV2 inverted residuals, ResNet-50 bottlenecks,
 * DenseNet-121 dense blocks, GoogLeNet inception modules, a pre-norm transformer encoder); they are
 * cost- and topology-faithful, not trained.
 */
public final class ModelZoo {

  private ModelZoo() {}

  /**
   * MobileNetV2: stem conv, 17 inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 linear
   * projection, residual Add where shapes allow), 1x1 conv to 1280, global pool, classifier; each
   * conv is followed by BatchNormalization (and ReLU6 as Clip). At 224x224, width 1, 1000 classes:
   * 155 nodes, 3.5 M parameters, about 300 M MACs.
   */
  public static ModelProto mobileNetV2(int resolution, double width, int classes, long seed) {
    Net n = new Net("mobilenetv2", seed);
    String x = n.g.input("input", DType.FLOAT, GraphBuilder.BATCH, 3, resolution, resolution);
    int c = channels(32, width);
    x = n.clip6(n.bn(n.conv(x, 3, c, 3, 2, 1), c));
    int[][] settings = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1},
        {6, 160, 3, 2}, {6, 320, 1, 1}};
    for (int[] s : settings) {
      int out = channels(s[1], width);
      for (int i = 0; i < s[2]; i++) {
        int stride = i == 0 ? s[3] : 1;
        int hidden = c * s[0];
        String y = x;
        if (s[0] != 1) {
          y = n.clip6(n.bn(n.conv(y, c, hidden, 1, 1, 1), hidden));
        }
        y = n.clip6(n.bn(n.conv(y, hidden, hidden, 3, stride, hidden), hidden));
        y = n.bn(n.conv(y, hidden, out, 1, 1, 1), out);
        x = stride == 1 && c == out ? n.g.node("Add", x, y).out() : y;
        c = out;
      }
    }
    int last = Math.max(1280, channels(1280, width));
    x = n.clip6(n.bn(n.conv(x, c, last, 1, 1, 1), last));
    return n.classifier(x, last, classes, "logits");
  }

  /**
   * ResNet-50: 7x7 stem, max pool, bottleneck blocks [3, 4, 6, 3] (1x1, 3x3, 1x1 with
   * BatchNormalization and ReLU, projection shortcut on the first block of each stage, residual
   * Add), global pool, classifier. {@code width} scales every channel count (1 = the paper's).
   */
  public static ModelProto resNet50Like(int resolution, double width, int classes, long seed) {
    Net n = new Net("resnet50", seed);
    String x = n.g.input("input", DType.FLOAT, GraphBuilder.BATCH, 3, resolution, resolution);
    int c = channels(64, width);
    x = n.relu(n.bn(n.conv(x, 3, c, 7, 2, 1), c));
    x = n.g.node("MaxPool", x).ints("kernel_shape", 3, 3).ints("strides", 2, 2)
        .ints("pads", 1, 1, 1, 1).out();
    int[] blocks = {3, 4, 6, 3};
    for (int stage = 0; stage < blocks.length; stage++) {
      int mid = channels(64 << stage, width);
      int out = mid * 4;
      for (int i = 0; i < blocks[stage]; i++) {
        int stride = i == 0 && stage > 0 ? 2 : 1;
        String y = n.relu(n.bn(n.conv(x, c, mid, 1, 1, 1), mid));
        y = n.relu(n.bn(n.conv(y, mid, mid, 3, stride, 1), mid));
        y = n.bn(n.conv(y, mid, out, 1, 1, 1), out);
        String shortcut = i == 0 ? n.bn(n.conv(x, c, out, 1, stride, 1), out) : x;
        x = n.relu(n.g.node("Add", y, shortcut).out());
        c = out;
      }
    }
    return n.classifier(x, c, classes, "logits");
  }

  /**
   * DenseNet-121 (growth 32, blocks [6, 12, 24, 16]) scaled by {@link #denseNet}'s parameters.
   */
  public static ModelProto denseNet121Like(int resolution, int classes, long seed) {
    return denseNet(resolution, 32, new int[] {6, 12, 24, 16}, classes, seed);
  }

  /**
   * DenseNet: 7x7 stem and max pool, dense blocks whose layers (BN-ReLU-1x1 conv to 4k channels,
   * BN-ReLU-3x3 conv to k channels) each Concat their k new channels onto the running feature map,
   * transitions (BN-ReLU-1x1 conv halving channels, 2x2 average pool) between blocks, classifier.
   */
  public static ModelProto denseNet(int resolution, int growth, int[] blocks, int classes, long seed) {
    Net n = new Net("densenet", seed);
    String x = n.g.input("input", DType.FLOAT, GraphBuilder.BATCH, 3, resolution, resolution);
    int c = 2 * growth;
    x = n.relu(n.bn(n.conv(x, 3, c, 7, 2, 1), c));
    x = n.g.node("MaxPool", x).ints("kernel_shape", 3, 3).ints("strides", 2, 2)
        .ints("pads", 1, 1, 1, 1).out();
    for (int b = 0; b < blocks.length; b++) {
      for (int i = 0; i < blocks[b]; i++) {
        String y = n.conv(n.relu(n.bn(x, c)), c, 4 * growth, 1, 1, 1);
        y = n.conv(n.relu(n.bn(y, 4 * growth)), 4 * growth, growth, 3, 1, 1);
        x = n.g.node("Concat", x, y).attr("axis", 1L).out();
        c += growth;
      }
      if (b < blocks.length - 1) {
        x = n.conv(n.relu(n.bn(x, c)), c, c / 2, 1, 1, 1);
        c /= 2;
        x = n.g.node("AveragePool", x).ints("kernel_shape", 2, 2).ints("strides", 2, 2).out();
      }
    }
    return n.classifier(n.relu(n.bn(x, c)), c, classes, "logits");
  }

  /**
   * GoogLeNet-style Inception: stem, then nine inception modules (four parallel branches: 1x1;
   * 1x1 then 3x3; 1x1 then 5x5; 3x3 max pool then 1x1; concatenated on channels) with max-pool
   * downsampling after the 2nd and 7th, classifier. {@code width} scales every channel count.
   */
  public static ModelProto inceptionLike(int resolution, double width, int classes, long seed) {
    Net n = new Net("inception", seed);
    String x = n.g.input("input", DType.FLOAT, GraphBuilder.BATCH, 3, resolution, resolution);
    int c = channels(64, width);
    x = n.relu(n.conv(x, 3, c, 7, 2, 1));
    x = n.maxPool(x, 3, 2);
    int c2 = channels(192, width);
    x = n.relu(n.conv(n.relu(n.conv(x, c, c, 1, 1, 1)), c, c2, 3, 1, 1));
    c = c2;
    x = n.maxPool(x, 3, 2);
    // GoogLeNet's modules 3a..5b: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection
    int[][] modules = {{64, 96, 128, 16, 32, 32}, {128, 128, 192, 32, 96, 64},
        {192, 96, 208, 16, 48, 64}, {160, 112, 224, 24, 64, 64}, {128, 128, 256, 24, 64, 64},
        {112, 144, 288, 32, 64, 64}, {256, 160, 320, 32, 128, 128}, {256, 160, 320, 32, 128, 128},
        {384, 192, 384, 48, 128, 128}};
    for (int m = 0; m < modules.length; m++) {
      int[] s = new int[6];
      for (int i = 0; i < 6; i++) {
        s[i] = channels(modules[m][i], width);
      }
      String b1 = n.relu(n.conv(x, c, s[0], 1, 1, 1));
      String b2 = n.relu(n.conv(n.relu(n.conv(x, c, s[1], 1, 1, 1)), s[1], s[2], 3, 1, 1));
      String b3 = n.relu(n.conv(n.relu(n.conv(x, c, s[3], 1, 1, 1)), s[3], s[4], 5, 1, 1));
      String pooled = n.g.node("MaxPool", x).ints("kernel_shape", 3, 3).ints("strides", 1, 1)
          .ints("pads", 1, 1, 1, 1).out();
      String b4 = n.relu(n.conv(pooled, c, s[5], 1, 1, 1));
      x = n.g.node("Concat", b1, b2, b3, b4).attr("axis", 1L).out();
      c = s[0] + s[2] + s[4] + s[5];
      if (m == 1 || m == 6) {
        x = n.maxPool(x, 3, 2);
      }
    }
    return n.classifier(x, c, classes, "logits");
  }

  /**
   * A pre-norm transformer encoder over a {@code [N, seq, dModel]} input: per layer,
   * LayerNormalization, Q/K/V projections (MatMul + bias), heads split by Reshape (its target shape
   * computed at run time from Shape/Gather/Concat, so the batch stays symbolic) and Transpose,
   * scaled QK^T batched MatMul, Softmax, batched MatMul with V, heads merged by Transpose and a
   * Reshape fed by a Constant {@code [0, seq, dModel]}, output projection and residual Add; then
   * LayerNormalization, a ReLU feed-forward network and a residual Add. A mean over the sequence
   * and a Gemm give {@code classes} logits.
   */
  public static ModelProto transformer(
      int layers, int seq, int dModel, int heads, int ffn, int classes, long seed) {
    if (dModel % heads != 0) {
      throw new IllegalArgumentException("dModel " + dModel + " is not divisible by " + heads + " heads");
    }
    Net n = new Net("transformer", seed);
    GraphBuilder g = n.g;
    String x = g.input("tokens", DType.FLOAT, GraphBuilder.BATCH, seq, dModel);
    int dh = dModel / heads;
    String qkvShapeTail = g.constantInt64(seq, heads, dh);
    String scale = g.initializer(n.name("scale"), new float[] {(float) (1 / Math.sqrt(dh))});
    for (int l = 0; l < layers; l++) {
      String h = n.layerNorm(x, dModel);
      // [N, seq, heads, dh] with N taken from the input's shape at run time
      String batch = g.node("Gather", g.node("Shape", h).out(), g.initializerInt64(n.name("zero"),
          new long[] {0}, 1)).attr("axis", 0L).out();
      String headsShape = g.node("Concat", batch, qkvShapeTail).attr("axis", 0L).out();
      String[] qkv = new String[3];
      for (int i = 0; i < 3; i++) {
        String p = n.linear(h, dModel, dModel);
        String split = g.node("Reshape", p, headsShape).out();
        // Q and V: [N, heads, seq, dh]; K: [N, heads, dh, seq] so that QK^T is a plain MatMul
        qkv[i] = g.node("Transpose", split).ints("perm", i == 1 ? new long[] {0, 2, 3, 1}
            : new long[] {0, 2, 1, 3}).out();
      }
      String scores = g.node("Mul", g.node("MatMul", qkv[0], qkv[1]).out(), scale).out();
      String attn = g.node("Softmax", scores).attr("axis", -1L).out();
      String ctx = g.node("Transpose", g.node("MatMul", attn, qkv[2]).out())
          .ints("perm", 0, 2, 1, 3).out();
      String merged = g.node("Reshape", ctx, g.constantInt64(0, seq, dModel)).out();
      x = g.node("Add", x, n.linear(merged, dModel, dModel)).out();
      String f = n.layerNorm(x, dModel);
      f = n.linear(n.relu(n.linear(f, dModel, ffn)), ffn, dModel);
      x = g.node("Add", x, f).out();
    }
    x = n.layerNorm(x, dModel);
    String pooled = g.node("ReduceMean", x).ints("axes", 1).attr("keepdims", 0L).out();
    String logits = n.gemm(pooled, dModel, classes, "logits");
    g.output(logits, DType.FLOAT, GraphBuilder.BATCH, classes);
    return g.build();
  }

  /**
   * A model with two inputs and three outputs: an image branch (conv, pool) and a feature branch
   * (Gemm) are concatenated and classified. Output {@code embedding} is also consumed by later
   * nodes, and the {@code features} input is used again at the very end (by output {@code score}),
   * so splits must forward both through the stages in between.
   */
  public static ModelProto multiInputOutput(int resolution, int featureSize, int classes, long seed) {
    Net n = new Net("multi_io", seed);
    GraphBuilder g = n.g;
    String image = g.input("image", DType.FLOAT, GraphBuilder.BATCH, 3, resolution, resolution);
    String features = g.input("features", DType.FLOAT, GraphBuilder.BATCH, featureSize);
    String x = n.relu(n.bn(n.conv(image, 3, 16, 3, 2, 1), 16));
    x = n.relu(n.bn(n.conv(x, 16, 32, 3, 2, 1), 32));
    x = g.node("Flatten", g.node("GlobalAveragePool", x).out()).attr("axis", 1L).out();
    String f = n.relu(n.gemm(features, featureSize, 32, null));
    String embedding = g.node("Concat", x, f).attr("axis", 1L).outputs("embedding").out();
    String hidden = n.relu(n.gemm(embedding, 64, 64, null));
    String logits = n.gemm(hidden, 64, classes, "logits");
    String scored = g.node("Mul", n.gemm(hidden, 64, featureSize, null), features).out();
    String score = g.node("ReduceSum", scored, g.initializerInt64("sum_axes", new long[] {1}, 1))
        .attr("keepdims", 1L).outputs("score").out();
    g.output(logits, DType.FLOAT, GraphBuilder.BATCH, classes);
    g.output(embedding, DType.FLOAT, GraphBuilder.BATCH, 64);
    g.output(score, DType.FLOAT, GraphBuilder.BATCH, 1);
    return g.build();
  }

  /** The models the planner profiles, by name, at 224x224 with 1000 classes. */
  public static List<String> benchmarkModelNames() {
    return List.of("mobilenetv2", "resnet50", "densenet121", "inception");
  }

  /** One of {@link #benchmarkModelNames()} at 224x224, 1000 classes, seed 1. */
  public static ModelProto benchmarkModel(String name) {
    return switch (name) {
      case "mobilenetv2" -> mobileNetV2(224, 1.0, 1000, 1);
      case "resnet50" -> resNet50Like(224, 1.0, 1000, 1);
      case "densenet121" -> denseNet121Like(224, 1000, 1);
      case "inception" -> inceptionLike(224, 1.0, 1000, 1);
      default -> throw new IllegalArgumentException(
          "unknown zoo model '" + name + "', known: " + benchmarkModelNames());
    };
  }

  private static int channels(int base, double width) {
    return Math.max(4, (int) Math.round(base * width));
  }

  /** Layer helpers over a builder, with seeded weights and unique parameter names. */
  private static final class Net {
    final GraphBuilder g;
    final Random random;
    private int counter;

    Net(String name, long seed) {
      this.g = new GraphBuilder(name);
      this.random = new Random(seed);
    }

    String name(String kind) {
      return kind + "_" + counter++;
    }

    String conv(String x, int cin, int cout, int k, int stride, int groups) {
      String w = g.randomWeight(name("conv_w"), random, fanInScale((cin / groups) * k * k),
          cout, cin / groups, k, k);
      String b = g.randomWeight(name("conv_b"), random, 0.1f, cout);
      int pad = k / 2;
      return g.node("Conv", x, w, b).ints("kernel_shape", k, k).ints("strides", stride, stride)
          .ints("pads", pad, pad, pad, pad).attr("group", (long) groups).out();
    }

    String bn(String x, int c) {
      String scale = g.initializer(name("bn_scale"), uniform(c, 0.8f, 1.2f), c);
      String bias = g.initializer(name("bn_bias"), uniform(c, -0.1f, 0.1f), c);
      String mean = g.initializer(name("bn_mean"), uniform(c, -0.1f, 0.1f), c);
      String var = g.initializer(name("bn_var"), uniform(c, 0.8f, 1.2f), c);
      return g.node("BatchNormalization", x, scale, bias, mean, var).attr("epsilon", 1e-5f).out();
    }

    String relu(String x) {
      return g.node("Relu", x).out();
    }

    String clip6(String x) {
      String lo = g.initializer(name("clip_min"), new float[] {0f});
      String hi = g.initializer(name("clip_max"), new float[] {6f});
      return g.node("Clip", x, lo, hi).out();
    }

    String maxPool(String x, int k, int stride) {
      return g.node("MaxPool", x).ints("kernel_shape", k, k).ints("strides", stride, stride)
          .ints("pads", k / 2, k / 2, k / 2, k / 2).out();
    }

    String layerNorm(String x, int d) {
      String scale = g.initializer(name("ln_scale"), uniform(d, 0.8f, 1.2f), d);
      String bias = g.initializer(name("ln_bias"), uniform(d, -0.1f, 0.1f), d);
      return g.node("LayerNormalization", x, scale, bias).attr("axis", -1L)
          .attr("epsilon", 1e-5f).out();
    }

    /** x[..., in] times a weight [in, out] plus bias: MatMul with broadcasting, then Add. */
    String linear(String x, int in, int out) {
      String w = g.randomWeight(name("linear_w"), random, fanInScale(in), in, out);
      String b = g.randomWeight(name("linear_b"), random, 0.1f, out);
      return g.node("Add", g.node("MatMul", x, w).out(), b).out();
    }

    /** Gemm with a transposed [out, in] weight, as PyTorch exports Linear; named output or generated. */
    String gemm(String x, int in, int out, String outputName) {
      String w = g.randomWeight(name("fc_w"), random, fanInScale(in), out, in);
      String b = g.randomWeight(name("fc_b"), random, 0.1f, out);
      GraphBuilder.NodeBuilder node = g.node("Gemm", x, w, b).attr("transB", 1L);
      return outputName == null ? node.out() : node.outputs(outputName).out();
    }

    /** Global average pool, flatten, Gemm to {@code classes} named {@code output}; builds the model. */
    ModelProto classifier(String x, int c, int classes, String output) {
      String pooled = g.node("Flatten", g.node("GlobalAveragePool", x).out()).attr("axis", 1L).out();
      g.output(gemm(pooled, c, classes, output), DType.FLOAT, GraphBuilder.BATCH, classes);
      return g.build();
    }

    private float[] uniform(int n, float lo, float hi) {
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = lo + random.nextFloat() * (hi - lo);
      }
      return v;
    }

    private static float fanInScale(int fanIn) {
      return (float) Math.sqrt(3.0 / fanIn);
    }
  }
}
