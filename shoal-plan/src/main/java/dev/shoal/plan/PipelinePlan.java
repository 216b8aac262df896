package dev.shoal.plan;

import java.util.List;

/** A solver's answer: the stages in order, with the cost model's bottleneck and latency (s). */
public record PipelinePlan(
    List<StageAssignment> stages, double bottleneck, double latency, long solveMillis) {}
