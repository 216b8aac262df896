/**
 * Issue 4's serving experiments on real worker processes: availability of variant, class and
 * pipeline parallelism with workers killed, and served response time of the variant ensemble
 * against the base model.
 */
package dev.shoal.bench.availability;
