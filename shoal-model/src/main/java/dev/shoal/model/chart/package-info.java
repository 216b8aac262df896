/**
 * Headless line charts (PNG, SVG) for benchmark and training reports.
 */
package dev.shoal.model.chart;
