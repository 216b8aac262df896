/**
 * How tensors travel over a link: raw, lossless (LZ4, zstd, sparse) and lossy (fp16, int8 per
 * block or channel, int4) codecs, optionally followed by an entropy stage.
 */
package dev.shoal.runtime.codec;
