/**
 * MNIST-format data sets: IDX files, labelled images, normalisation, augmentation and batches.
 */
package dev.shoal.train.data;
