package dev.shoal.plan;

/** A pipeline stage: layers {@code first..last} (inclusive) run on device index {@code device}. */
public record StageAssignment(int device, int first, int last) {}
