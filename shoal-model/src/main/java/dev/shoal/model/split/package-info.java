/**
 * Exact sub-model extraction: a model cut into a chain of self-contained stage models, and running
 * such a chain in one process.
 */
package dev.shoal.model.split;
