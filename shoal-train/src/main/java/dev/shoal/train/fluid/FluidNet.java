package dev.shoal.train.fluid;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.shoal.train.nn.Act;
import dev.shoal.train.nn.Chain;
import dev.shoal.train.nn.ConvBn;
import dev.shoal.train.nn.Dense;
import dev.shoal.train.nn.MaxPool;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A Fluid network of G sub-networks (groups), group g on device g. Each group has a trunk (conv,
 * pool, conv, pool), a last conv (BN, no activation yet), ReLU, global pooling and its own head:
 * alone, group g classifies from its own image with no traffic at all.
 *
 * <p>Combined mode adds one-way links from earlier to later groups at the lowest resolution only:
 * group k's last conv output gets, before its ReLU, a 3x3 conv-BN of each earlier group's trunk
 * output ({@code cross(j -> k)}); the combined head of the first k groups reads the concatenated
 * pooled features of groups 1..k. Every group's trunk runs without any input from other groups, so
 * in combined mode all devices run their trunks at once, exchange the low-resolution maps, and
 * finish in parallel. The combined mode of all G groups may have blocks of its own ({@link Design}):
 * copies of the earlier groups' last convs and links, and a mix conv over all trunk maps.
 *
 * <p>Nested incremental training: phase k (1..G) trains group k, its head, the links into it and
 * the combined head of the first k groups (phase G also the full mode's own blocks); everything of
 * groups before k is frozen and runs in inference mode (batch norm on its running statistics), so a
 * group alone computes exactly what it computed when its phase ended. Phase k's outputs are group
 * k's own logits and, from phase 2, the combined logits of groups 1..k and the logits of a probe
 * head on the groups' own pooled features (the "pooled features only" alternative; its inputs are
 * detached, so it learns without shaping any group).
 */
public final class FluidNet extends AbstractBlock {

  private final FluidLayout layout;
  private final List<Chain> trunks = new ArrayList<>();
  private final List<ConvBn> lasts = new ArrayList<>();
  private final List<Dense> heads = new ArrayList<>();
  /** {@code crosses.get(k).get(j)}: the link from group j into group k (j < k). */
  private final List<List<ConvBn>> crosses = new ArrayList<>();
  /** {@code combinedHeads.get(k)}: the head over groups 0..k, k >= 1 (index 0 unused: null). */
  private final List<Dense> combinedHeads = new ArrayList<>();
  private final List<Dense> pooledHeads = new ArrayList<>();
  private final Design design;
  /**
   * The full combined mode's own blocks ({@link Design}), 0-based: {@code fullLinks.get(g).get(j)}
   * the link from group j into group g (j < g < G-1), {@code fullLasts.get(g)} group g's last conv
   * (g < G-1); empty without them. {@code mix}: null without one.
   */
  private final List<List<ConvBn>> fullLinks = new ArrayList<>();
  private final List<ConvBn> fullLasts = new ArrayList<>();
  private final ConvBn mix;
  private int phase;

  /**
   * What the combined mode of all G groups (high-accuracy mode) has of its own, trained in phase G
   * with its head. {@code ownLinks}: its own links into groups 2..G-1; {@code ownLasts}: its own
   * copies of groups 1..G-1's last convs (both started from what the earlier phases trained: the
   * sub-networks alone and the smaller combined modes keep theirs). {@code mixChannels} > 0: device
   * G also runs a 3x3 conv-BN-ReLU of that many channels over all G trunk maps, which it receives
   * anyway; its pooled output joins the combined head's features. None of them adds a transfer.
   */
  public record Design(boolean ownLinks, boolean ownLasts, int mixChannels) {
    /** The first design: the full mode uses the links and last convs the earlier phases trained. */
    public static final Design PLAIN = new Design(false, false, 0);

    public Design {
      if (mixChannels < 0) {
        throw new IllegalArgumentException("mix channels must be >= 0, got " + mixChannels);
      }
    }

    /**
     * The committed design: own links and last convs, no mix conv (docs/fluid.md: the lightest
     * design within the target on the validation split; the mix conv gained more but cost device G
     * 70% more MACs).
     */
    public static final Design OWN_LAYER3 = new Design(true, true, 0);
  }

  public FluidNet(FluidLayout layout) {
    this(layout, Design.PLAIN);
  }

  public FluidNet(FluidLayout layout, Design design) {
    this.layout = layout;
    this.design = design;
    int groups = layout.groups();
    for (int g = 0; g < groups; g++) {
      int n = g + 1;
      trunks.add(addChildBlock("trunk" + n, trunk(layout)));
      lasts.add(addChildBlock("last" + n, ConvBn.dense(layout.groupChannels(3), 3, 1, Act.NONE)));
      heads.add(addChildBlock("head" + n, new Dense(layout.classes())));
      List<ConvBn> into = new ArrayList<>();
      for (int j = 0; j < g; j++) {
        into.add(addChildBlock("cross" + (j + 1) + "to" + n, ConvBn.dense(layout.groupChannels(3), 3, 1, Act.NONE)));
      }
      crosses.add(into);
      combinedHeads.add(g == 0 ? null : addChildBlock("combined" + n, new Dense(layout.classes())));
      pooledHeads.add(g == 0 ? null : addChildBlock("pooled" + n, new Dense(layout.classes())));
    }
    // added after every group's blocks, so that the blocks above keep their names (and checkpoints)
    for (int g = 0; g < groups - 1 && design.ownLinks(); g++) {
      List<ConvBn> into = new ArrayList<>();
      for (int j = 0; j < g; j++) {
        into.add(addChildBlock("cross" + (j + 1) + "to" + (g + 1) + "in" + groups,
            ConvBn.dense(layout.groupChannels(3), 3, 1, Act.NONE)));
      }
      fullLinks.add(into);
    }
    for (int g = 0; g < groups - 1 && design.ownLasts(); g++) {
      fullLasts.add(addChildBlock("last" + (g + 1) + "in" + groups, ConvBn.dense(layout.groupChannels(3), 3, 1, Act.NONE)));
    }
    mix = design.mixChannels() == 0 ? null
        : addChildBlock("mix" + groups, ConvBn.dense(design.mixChannels(), 3, 1, Act.RELU));
  }

  public Design design() {
    return design;
  }

  /** One group's trunk: conv, pool, conv, pool at the group's widths. */
  static Chain trunk(FluidLayout layout) {
    return new Chain()
        .add(ConvBn.dense(layout.groupChannels(1), 3, 1, Act.RELU))
        .add(new MaxPool(2))
        .add(ConvBn.dense(layout.groupChannels(2), 3, 1, Act.RELU))
        .add(new MaxPool(2));
  }

  public FluidLayout layout() {
    return layout;
  }

  /**
   * Selects phase {@code k} (1..G): freezes every parameter except what phase k trains (group k,
   * its head, the links into it, the combined and probe heads of the first k groups). Freezing is
   * one-way: to train, call it once, after the network is initialised; in inference any phase may
   * be selected in turn.
   */
  public void setPhase(int k) {
    if (k < 1 || k > layout.groups()) {
      throw new IllegalArgumentException("phase must be in [1, " + layout.groups() + "], got " + k);
    }
    phase = k - 1;
    List<Block> trained = trainedIn(phase);
    for (Block b : getChildren().values()) {
      // freezing only what does not train: freezing a parameter and unfreezing it again in DJL
      // 0.35.1 left the network training to NaN within a few steps
      if (!trained.contains(b)) {
        b.freezeParameters(true);
      }
    }
  }

  private List<Block> trainedIn(int p) {
    List<Block> blocks = new ArrayList<>(List.of(trunks.get(p), lasts.get(p), heads.get(p)));
    blocks.addAll(crosses.get(p));
    if (p > 0) {
      blocks.add(combinedHeads.get(p));
      blocks.add(pooledHeads.get(p));
    }
    if (p == layout.groups() - 1) {
      fullLinks.forEach(blocks::addAll);
      blocks.addAll(fullLasts);
      if (mix != null) {
        blocks.add(mix);
      }
    }
    return blocks;
  }

  /**
   * The names (as in {@link #getParameters()}) of the parameters of the blocks phase k trains: what
   * phase k-1's checkpoint need not hold (a block this design adds) or may hold in another shape.
   */
  public Set<String> trainedParameterNames(int k) {
    List<Block> trained = trainedIn(k - 1);
    Set<String> names = new HashSet<>();
    for (var child : getChildren()) {
      if (trained.contains(child.getValue())) {
        child.getValue().getParameters().keys().forEach(key -> names.add(child.getKey() + "_" + key));
      }
    }
    return names;
  }

  /**
   * Starts the full combined mode's own last convs and links ({@link Design}) from those the
   * earlier phases trained: called when phase G starts, so that it begins where they ended.
   */
  public void startFullMode() {
    for (int g = 0; g < fullLasts.size(); g++) {
      copyAll(lasts.get(g), fullLasts.get(g));
    }
    for (int g = 0; g < fullLinks.size(); g++) {
      for (int j = 0; j < fullLinks.get(g).size(); j++) {
        copyAll(crosses.get(g).get(j), fullLinks.get(g).get(j));
      }
    }
  }

  private static void copyAll(Block from, Block to) {
    var source = from.getParameters();
    var target = to.getParameters();
    for (int i = 0; i < source.size(); i++) {
      Weights.copy(source.get(i).getValue().getArray(), target.get(i).getValue());
    }
  }

  /** Whether gradient descent sets this parameter (not a batch-norm running statistic). */
  static boolean learned(Parameter p) {
    return p.getType() != Parameter.Type.RUNNING_MEAN && p.getType() != Parameter.Type.RUNNING_VAR;
  }

  /** Parameters (weights, biases, batch-norm scales and shifts) of the blocks trained in phase k. */
  public long trainableParameters(int k) {
    long n = 0;
    for (Block b : trainedIn(k - 1)) {
      for (Parameter p : b.getParameters().values()) {
        if (learned(p)) {
          n += p.getShape().size();
        }
      }
    }
    return n;
  }

  public Chain trunk(int group) {
    return trunks.get(group - 1);
  }

  public ConvBn last(int group) {
    return lasts.get(group - 1);
  }

  public Dense head(int group) {
    return heads.get(group - 1);
  }

  /** The link from group {@code from} into group {@code to} (1-based, from < to). */
  public ConvBn cross(int from, int to) {
    return crosses.get(to - 1).get(from - 1);
  }

  /**
   * The link from group {@code from} into group {@code to} in the combined mode of groups 1..m
   * (1-based, from < to <= m): the mode's own link with {@link Design#ownLinks} when to < m,
   * otherwise the link phase {@code to} trained.
   */
  public ConvBn cross(int from, int to, int m) {
    return to < m && m == layout.groups() && design.ownLinks() ? fullLinks.get(to - 1).get(from - 1) : cross(from, to);
  }

  /**
   * Group {@code group}'s last conv in the combined mode of groups 1..m: the mode's own with
   * {@link Design#ownLasts} when group < m, otherwise the sub-network's.
   */
  public ConvBn last(int group, int m) {
    return group < m && m == layout.groups() && design.ownLasts() ? fullLasts.get(group - 1) : last(group);
  }

  /** The mix conv of the combined mode of groups 1..m: only the full mode's, if the design has one. */
  public Optional<ConvBn> mix(int m) {
    return m == layout.groups() ? Optional.ofNullable(mix) : Optional.empty();
  }

  /** The combined head over groups 1..k (k >= 2). */
  public Dense combinedHead(int k) {
    return combinedHeads.get(k - 1);
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    List<NDArray> trunkOut = new ArrayList<>();
    List<NDArray> pre = new ArrayList<>();
    for (int g = 0; g <= phase; g++) {
      boolean train = training && g == phase;
      NDArray t = trunks.get(g).forward(ps, inputs, train, params).singletonOrThrow();
      trunkOut.add(t);
      pre.add(lasts.get(g).forward(ps, new NDList(t), train, params).singletonOrThrow());
    }
    NDArray own = heads.get(phase).forward(ps, new NDList(pool(Activation.relu(pre.get(phase)))), training, params)
        .singletonOrThrow();
    if (phase == 0) {
      return new NDList(own);
    }
    NDList combinedFeatures = new NDList();
    NDList ownFeatures = new NDList();
    for (int g = 0; g <= phase; g++) {
      NDArray sum = last(g + 1, phase + 1) != last(g + 1)
          ? last(g + 1, phase + 1).forward(ps, new NDList(trunkOut.get(g)), training, params).singletonOrThrow()
          : pre.get(g);
      for (int j = 0; j < g; j++) {
        ConvBn link = cross(j + 1, g + 1, phase + 1);
        // a link runs in training mode exactly when this phase trains it
        boolean train = training && (g == phase || link != cross(j + 1, g + 1));
        sum = sum.add(link.forward(ps, new NDList(trunkOut.get(j)), train, params).singletonOrThrow());
      }
      combinedFeatures.add(pool(Activation.relu(sum)));
      ownFeatures.add(pool(Activation.relu(pre.get(g))).stopGradient());
    }
    if (mix(phase + 1).isPresent()) {
      NDArray all = NDArrays.concat(new NDList(trunkOut), 1);
      combinedFeatures.add(pool(mix.forward(ps, new NDList(all), training, params).singletonOrThrow()));
    }
    NDArray combined = combinedHeads.get(phase)
        .forward(ps, new NDList(NDArrays.concat(combinedFeatures, 1)), training, params).singletonOrThrow();
    NDArray pooled = pooledHeads.get(phase)
        .forward(ps, new NDList(NDArrays.concat(ownFeatures, 1)), training, params).singletonOrThrow();
    return new NDList(own, combined, pooled);
  }

  private static NDArray pool(NDArray x) {
    return Pool.globalAvgPool2d(x).reshape(x.getShape().get(0), x.getShape().get(1));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    Shape logits = new Shape(inputs[0].get(0), layout.classes());
    return phase == 0 ? new Shape[] {logits} : new Shape[] {logits, logits, logits};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    long n = inputShapes[0].get(0);
    int features = layout.groupChannels(3);
    for (int g = 0; g < layout.groups(); g++) {
      trunks.get(g).initialize(manager, dataType, inputShapes);
      Shape t = trunks.get(g).getOutputShapes(inputShapes)[0];
      lasts.get(g).initialize(manager, dataType, t);
      heads.get(g).initialize(manager, dataType, new Shape(n, features));
      for (ConvBn c : crosses.get(g)) {
        c.initialize(manager, dataType, t);
      }
      if (g > 0) {
        long mixed = mix(g + 1).isPresent() ? design.mixChannels() : 0;
        combinedHeads.get(g).initialize(manager, dataType, new Shape(n, (long) features * (g + 1) + mixed));
        pooledHeads.get(g).initialize(manager, dataType, new Shape(n, (long) features * (g + 1)));
      }
    }
    Shape t = trunks.get(0).getOutputShapes(inputShapes)[0];
    fullLinks.forEach(into -> into.forEach(c -> c.initialize(manager, dataType, t)));
    fullLasts.forEach(c -> c.initialize(manager, dataType, t));
    if (mix != null) {
      mix.initialize(manager, dataType, new Shape(n, t.get(1) * layout.groups(), t.get(2), t.get(3)));
    }
  }
}
