/**
 * jcrit, the image tool: crit's commands (decode, encode, info, show, x) with crit's exact
 * output, for all image types including those crit cannot decode (signal, binfmt-misc, pidfd),
 * zombies in {@code x}, and names that are not UTF-8. The JSON conversion is generic: it
 * follows the descriptors and the (criu) field options of {@code opts.proto}, never a
 * per-image table.
 */
package org.jcriu.crit;
