/**
 * CRIU 4.2 image files: the {@link org.jcriu.image.ImageType} catalogue (magic, file name,
 * head magic, entry message, extra payload of every image), {@link org.jcriu.image.ImageDir}
 * for an images directory, and the {@link org.jcriu.image.ImageReader} /
 * {@link org.jcriu.image.ImageWriter} pair for the framing (head magic, type magic, then u32
 * size + protobuf entries, with raw extra bytes after some entries).
 *
 * <p>Messages are generated from {@code src/main/proto} into {@code org.jcriu.image.proto}:
 * CRIU's message names in CamelCase ({@code core_entry} is {@code CoreEntry}), field names and
 * numbers unchanged. Linux names are bytes, not text: read and write paths with the
 * {@code get/setXxxBytes()} accessors, since a Java String cannot carry bytes that are not
 * UTF-8.
 *
 * <p>Typical use:
 * <pre>{@code
 * ImageDir dir = new ImageDir(path);
 * try (ImageWriter w = dir.create(ImageType.CORE, pid)) {   // created by the first write
 *     w.write(core);
 * }
 * try (ImageReader r = dir.open(ImageType.PAGEMAP, pid)) {
 *     PagemapHead head = r.readOne(PagemapHead.parser());
 *     for (PagemapEntry e; (e = r.read(PagemapEntry.parser())) != null; ) { ... }
 * }
 * }</pre>
 */
package org.jcriu.image;
