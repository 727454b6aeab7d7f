/**
 * Parsers of /proc/PID files into records (stat, status, smaps with VmFlags, limits, fdinfo,
 * auxv). They work on the bytes of one read of each file; nothing here touches the task.
 */
package org.jcriu.proc;
