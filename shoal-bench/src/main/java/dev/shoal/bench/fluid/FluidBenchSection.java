package dev.shoal.bench.fluid;

import dev.shoal.bench.ResultTable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/** One part of {@code shoal bench fluid}: measures, prints its table, writes {@code <name>.csv} and {@code .json}. */
public interface FluidBenchSection {

  /** The section's name on the command line and in its result files. */
  String name();

  /** Runs the section on the model sets under {@code config.models()}; plots go to {@code outDir}. */
  ResultTable run(FluidBench.Config config, Path outDir, PrintStream progress) throws IOException;
}
