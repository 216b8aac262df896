package dev.shoal.train.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.XavierInitializer;
import dev.shoal.train.data.Augmentation;
import dev.shoal.train.data.BatchMaker;
import dev.shoal.train.data.LabelledImages;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Random;

/**
 * Trains one network (possibly with several outputs) on the CPU with DJL's PyTorch engine. The
 * network's weights live as long as the session, so export before closing it.
 */
public final class TrainingSession implements AutoCloseable {

  private static final int EVAL_BATCH = 500;

  private final Block net;
  private final Objective objective;
  private final TrainConfig config;
  private final Model model;
  private final Trainer trainer;
  private final CheckpointedSgd sgd;
  private final int stepsPerEpoch;
  private final Shape sampleShape;

  /** Progress of one finished epoch. */
  public record EpochReport(int epoch, double meanLoss, double seconds, int samples) {}

  /** Hears about training progress: every finished epoch, and every {@link #STEP_REPORT_EVERY} steps. */
  public interface Listener {
    void epoch(EpochReport report);

    default void steps(int epoch, int step, int stepsPerEpoch, double meanLoss) {}

    /** A step's loss was refused; the step was not taken and the weights went back ({@link StepGuard}). */
    default void rolledBack(StepGuard.Rollback rollback) {}
  }

  public static final int STEP_REPORT_EVERY = 100;

  public TrainingSession(
      Block net, Objective objective, TrainConfig config, Shape sampleShape, int trainCount) {
    this.net = net;
    this.objective = objective;
    this.config = config;
    this.sampleShape = sampleShape;
    this.stepsPerEpoch = (trainCount + config.batchSize() - 1) / config.batchSize();
    Engine.getInstance().setRandomSeed((int) config.seed());
    this.sgd =
        new CheckpointedSgd(
            config.learningRate(), config.momentum(), config.weightDecay(), stepsPerEpoch,
            (long) stepsPerEpoch * config.epochs());
    DefaultTrainingConfig djlConfig =
        new DefaultTrainingConfig(objective.asDjlLoss(config.labelSmoothing()))
            .optOptimizer(sgd)
            .optDevices(new Device[] {Device.cpu()})
            .optInitializer(
                new XavierInitializer(
                    XavierInitializer.RandomType.GAUSSIAN, XavierInitializer.FactorType.IN, 2),
                Parameter.Type.WEIGHT);
    this.model = Model.newInstance("shoal-train", Device.cpu());
    model.setBlock(net);
    this.trainer = model.newTrainer(djlConfig);
    trainer.initialize(new Shape(config.batchSize()).addAll(sampleShape));
  }

  public Block net() {
    return net;
  }

  /**
   * Augmented views of each image the network takes, as input channels (the images have one
   * channel): 1, or one per member of a {@link dev.shoal.train.nn.ParallelNets} fed its own view.
   */
  private int views() {
    return (int) sampleShape.get(0);
  }

  /**
   * Trains for the configured epochs, reporting progress to {@code listener}. The {@code teacher}
   * sees every augmented batch when the objective distils from one.
   *
   * @throws IllegalStateException when the run diverged: more than {@link StepGuard#MAX_ROLLBACKS}
   *     steps refused (a loss not finite or blown up)
   */
  public List<EpochReport> fit(BatchMaker train, Optional<Teacher> teacher, Listener listener) {
    if (objective.needsTeacher() != teacher.isPresent()) {
      throw new IllegalArgumentException(
          objective.needsTeacher()
              ? "the objective distils from a teacher, and none was given"
              : "a teacher was given, and the objective does not distil");
    }
    int views = views();
    if (views > 1 && teacher.isPresent()) {
      throw new IllegalArgumentException("a teacher sees one view of each image; this network takes " + views);
    }
    Random random = new Random(config.seed());
    StepGuard guard = new StepGuard(net, sgd);
    long steps = 0;
    List<EpochReport> reports = new ArrayList<>();
    for (int epoch = 1; epoch <= config.epochs(); epoch++) {
      long start = System.nanoTime();
      int[] order = train.shuffledOrder(random);
      double lossSum = 0;
      int batches = 0;
      int counted = 0;
      for (int from = 0; from < order.length; from += config.batchSize()) {
        int to = Math.min(order.length, from + config.batchSize());
        int batchFrom = from;
        int n = to - batchFrom;
        OptionalDouble loss =
            guard.step(trainer, steps, epoch, batches, batch -> {
              float[] images = train.images(order, batchFrom, to, config.augmentation(), random, views);
              NDArray x = batch.create(images, new Shape(n).addAll(sampleShape));
              NDArray y = batch.create(train.labels(order, batchFrom, to));
              Optional<NDArray> teacherLogits =
                  teacher.map(t -> batch.create(t.logits(images, n), new Shape(n, t.classes())));
              NDList outputs = trainer.forward(new NDList(x));
              return objective.loss(new Objective.Targets(y, teacherLogits), outputs, config.labelSmoothing());
            }, listener);
        if (loss.isPresent()) {
          lossSum += loss.getAsDouble();
          counted++;
        }
        steps++;
        batches++;
        if (batches % STEP_REPORT_EVERY == 0) {
          listener.steps(epoch, batches, stepsPerEpoch, lossSum / Math.max(1, counted));
        }
      }
      EpochReport report =
          new EpochReport(epoch, lossSum / Math.max(1, counted), (System.nanoTime() - start) / 1e9, order.length);
      reports.add(report);
      listener.epoch(report);
    }
    return reports;
  }

  /**
   * Inference-mode outputs of the network for every image of {@code data}, in order: one
   * {@code float[count * width]} per network output.
   */
  public List<float[]> predict(BatchMaker data) {
    int[] order = data.sequentialOrder();
    List<float[]> outputs = new ArrayList<>();
    ParameterStore store = new ParameterStore(trainer.getManager(), false);
    for (int from = 0; from < order.length; from += EVAL_BATCH) {
      int to = Math.min(order.length, from + EVAL_BATCH);
      try (NDManager batch = trainer.getManager().newSubManager()) {
        NDArray x =
            batch.create(
                data.images(order, from, to, Augmentation.NONE, null, views()),
                new Shape(to - from).addAll(sampleShape));
        NDList out = net.forward(store, new NDList(x), false);
        for (int i = 0; i < out.size(); i++) {
          NDArray o = out.get(i).toType(DataType.FLOAT32, false);
          int width = (int) (o.size() / (to - from));
          if (outputs.size() <= i) {
            outputs.add(new float[order.length * width]);
          }
          System.arraycopy(o.toFloatArray(), 0, outputs.get(i), from * width, (to - from) * width);
        }
      }
    }
    return outputs;
  }

  /** Trainable parameter count of the whole network. */
  public long parameterCount() {
    return parameterCount(net);
  }

  /**
   * Trainable parameter count of an initialised block (weights, biases, batch-norm scales and
   * shifts; not the running statistics).
   */
  public static long parameterCount(Block block) {
    long n = 0;
    for (var p : block.getParameters().values()) {
      if (p.requiresGradient()) {
        n += p.getArray().size();
      }
    }
    return n;
  }

  @Override
  public void close() {
    trainer.close();
    model.close();
  }
}
