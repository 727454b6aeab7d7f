/**
 * Named pipes: the path is a reg file entry of its own (fifo_entry.regf_id), the queued bytes
 * go to fifo-data.img; restore opens the path read-write first so that neither end blocks.
 */
package org.jcriu.files.fifo;
