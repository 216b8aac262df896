package dev.shoal.train.fluid;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.shoal.train.nn.Act;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.nn.ConvBn;
import dev.shoal.train.nn.Dense;
import dev.shoal.train.nn.GlobalPool;
import dev.shoal.train.nn.MaxPool;
import java.util.ArrayList;
import java.util.List;

/**
 * The Dynamic baseline: a slimmable network (Yu et al., 2018) at the widths of a {@link FluidLayout}.
 * Width {@code w} runs the first {@code w} of the channels of every layer, with the same conv and
 * classifier weights as every other width and its own batch norm (switchable batch norm: the
 * statistics of a narrow slice differ from a wide one's). Trained by the sandwich rule (Yu and
 * Huang, 2019): on each batch the summed cross-entropy of the narrowest, the widest and one width
 * in between drawn at random (every width when there are at most three). Outputs: in inference, one
 * logits tensor per width, narrowest first; in training, those of the widths trained on the batch.
 */
public final class SlimmableNet extends AbstractBlock {

  private static final float BN_EPSILON = 1e-5f;
  private static final float BN_MOMENTUM = 0.9f;
  private static final int LAYERS = 3;

  private final FluidLayout layout;
  private final List<Width> widths;
  private final Parameter[] convWeights = new Parameter[LAYERS];
  /** {@code bn[w][layer][0..3]}: gamma, beta, running mean, running variance of width w. */
  private final Parameter[][][] bn;
  private final Parameter fcWeight;
  private final Parameter fcBias;
  private final java.util.Random sandwich;

  /** A width as a fraction of the full network's channels. */
  public record Width(int numerator, int denominator) {
    public Width {
      if (numerator < 1 || numerator > denominator) {
        throw new IllegalArgumentException("a width must be in (0, 1], got " + numerator + "/" + denominator);
      }
    }

    public int of(int channels) {
      if (channels * numerator % denominator != 0) {
        throw new IllegalArgumentException(numerator + "/" + denominator + " of " + channels + " channels is not whole");
      }
      return channels * numerator / denominator;
    }

    public double fraction() {
      return (double) numerator / denominator;
    }

    /** e.g. "1of3", "2of2". */
    public String label() {
      return numerator + "of" + denominator;
    }
  }

  public SlimmableNet(FluidLayout layout, List<Width> widths, long seed) {
    this.layout = layout;
    this.sandwich = new java.util.Random(seed);
    this.widths = widths.stream().sorted((a, b) -> Double.compare(a.fraction(), b.fraction())).toList();
    if (this.widths.isEmpty() || this.widths.get(this.widths.size() - 1).fraction() != 1.0) {
      throw new IllegalArgumentException("a slimmable network's widest width must be the whole network, got " + widths);
    }
    for (Width w : this.widths) {
      for (int l = 1; l <= LAYERS; l++) {
        w.of(layout.channels(l));
      }
    }
    for (int l = 0; l < LAYERS; l++) {
      convWeights[l] = addParameter(Parameter.builder().setName("conv" + (l + 1)).setType(Parameter.Type.WEIGHT).build());
    }
    bn = new Parameter[this.widths.size()][LAYERS][];
    for (int w = 0; w < this.widths.size(); w++) {
      String at = this.widths.get(w).label();
      for (int l = 0; l < LAYERS; l++) {
        String name = "bn" + (l + 1) + "_" + at + "_";
        bn[w][l] = new Parameter[] {
          addParameter(Parameter.builder().setName(name + "gamma").setType(Parameter.Type.GAMMA).build()),
          addParameter(Parameter.builder().setName(name + "beta").setType(Parameter.Type.BETA).build()),
          addParameter(Parameter.builder().setName(name + "mean").setType(Parameter.Type.RUNNING_MEAN)
              .optRequiresGrad(false).build()),
          addParameter(Parameter.builder().setName(name + "var").setType(Parameter.Type.RUNNING_VAR)
              .optRequiresGrad(false).build())
        };
      }
    }
    fcWeight = addParameter(Parameter.builder().setName("fc_weight").setType(Parameter.Type.WEIGHT).build());
    fcBias = addParameter(Parameter.builder().setName("fc_bias").setType(Parameter.Type.BIAS).build());
  }

  public List<Width> widths() {
    return widths;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    NDList out = new NDList();
    int last = widths.size() - 1;
    if (training && widths.size() > 3) {
      // the sandwich rule: the narrowest, the widest and one width in between drawn at random
      out.add(forwardWidth(ps, x, 0, true));
      out.add(forwardWidth(ps, x, 1 + sandwich.nextInt(last - 1), true));
      out.add(forwardWidth(ps, x, last, true));
      return out;
    }
    for (int w = 0; w <= last; w++) {
      out.add(forwardWidth(ps, x, w, training));
    }
    return out;
  }

  private NDArray forwardWidth(ParameterStore ps, NDArray input, int w, boolean training) {
    Width width = widths.get(w);
    NDArray x = input;
    int in = 1;
    for (int l = 0; l < LAYERS; l++) {
      int out = width.of(layout.channels(l + 1));
      NDArray weight = ps.getValue(convWeights[l], x.getDevice(), training).get(new NDIndex(":{}, :{}", out, in));
      x = Conv2d.conv2d(x, weight, null, new Shape(1, 1), new Shape(1, 1)).singletonOrThrow();
      Parameter[] b = bn[w][l];
      x = BatchNorm.batchNorm(
              x,
              ps.getValue(b[2], x.getDevice(), training),
              ps.getValue(b[3], x.getDevice(), training),
              ps.getValue(b[0], x.getDevice(), training),
              ps.getValue(b[1], x.getDevice(), training),
              1,
              BN_MOMENTUM,
              BN_EPSILON,
              training)
          .singletonOrThrow();
      x = Activation.relu(x);
      if (l < LAYERS - 1) {
        x = Pool.maxPool2d(x, new Shape(2, 2), new Shape(2, 2), new Shape(0, 0), false);
      }
      in = out;
    }
    x = Pool.globalAvgPool2d(x).reshape(x.getShape().get(0), in);
    NDArray fc = ps.getValue(fcWeight, x.getDevice(), training).get(new NDIndex(":, :{}", in));
    return Linear.linear(x, fc, ps.getValue(fcBias, x.getDevice(), training)).singletonOrThrow();
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    Shape[] out = new Shape[widths.size()];
    java.util.Arrays.fill(out, new Shape(inputs[0].get(0), layout.classes()));
    return out;
  }

  @Override
  protected void prepare(Shape[] inputShapes) {
    int in = 1;
    for (int l = 0; l < LAYERS; l++) {
      int out = layout.channels(l + 1);
      convWeights[l].setShape(new Shape(out, in, 3, 3));
      for (int w = 0; w < widths.size(); w++) {
        for (Parameter p : bn[w][l]) {
          p.setShape(new Shape(widths.get(w).of(out)));
        }
      }
      in = out;
    }
    fcWeight.setShape(new Shape(layout.classes(), in));
    fcBias.setShape(new Shape(layout.classes()));
  }

  /**
   * The network at width {@code width} as a plain chain of exportable blocks holding copies of its
   * weights (the slices of the shared weights and that width's batch norm), initialised on
   * {@code manager}: what serving runs for that width.
   */
  public Chain extract(Width width, NDManager manager) {
    int w = widths.indexOf(width);
    if (w < 0) {
      throw new IllegalArgumentException("no width " + width.label() + " in " + widths);
    }
    List<ConvBn> convs = new ArrayList<>();
    Chain chain = new Chain();
    for (int l = 0; l < LAYERS; l++) {
      ConvBn c = ConvBn.dense(width.of(layout.channels(l + 1)), 3, 1, Act.RELU);
      convs.add(c);
      chain.add(c);
      if (l < LAYERS - 1) {
        chain.add(new MaxPool(2));
      }
    }
    Dense head = new Dense(layout.classes());
    chain.add(new GlobalPool()).add(head);
    chain.initialize(manager, DataType.FLOAT32, new Shape(1, 1, layout.rows(), layout.cols()));
    int in = 1;
    for (int l = 0; l < LAYERS; l++) {
      int out = width.of(layout.channels(l + 1));
      NDArray slice = convWeights[l].getArray().get(new NDIndex(":{}, :{}", out, in));
      for (Parameter p : convs.get(l).getParameters().values()) {
        NDArray value = switch (p.getType()) {
          case WEIGHT -> slice;
          case GAMMA -> bn[w][l][0].getArray();
          case BETA -> bn[w][l][1].getArray();
          case RUNNING_MEAN -> bn[w][l][2].getArray();
          case RUNNING_VAR -> bn[w][l][3].getArray();
          default -> throw new IllegalStateException("unexpected parameter " + p.getName());
        };
        Weights.copy(value, p);
      }
      in = out;
    }
    for (Parameter p : head.getParameters().values()) {
      Weights.copy(
          p.getType() == Parameter.Type.WEIGHT ? fcWeight.getArray().get(new NDIndex(":, :{}", in)) : fcBias.getArray(), p);
    }
    return chain;
  }
}
