/**
 * Pipelines with replicated stages: the bottleneck stages copied onto devices a plan leaves
 * unused, requests dealt round robin.
 */
package dev.shoal.plan.replicate;
