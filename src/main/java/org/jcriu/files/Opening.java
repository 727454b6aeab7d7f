package org.jcriu.files;

/**
 * What opening a file in a restored task gave: the fd it got there, or that it needs other fds
 * of the task first (an epoll needs the files it watches at their numbers). The restorer retries
 * a {@link NotYet} once other files are in place; a failure is an exception, never a value.
 */
public sealed interface Opening {
    /** The file is open in the task as {@code fd} (any number: the restorer moves it). */
    record Opened(int fd) implements Opening {}

    /** Nothing was done; {@code waitingFor} says what is missing, for the error if it never comes. */
    record NotYet(String waitingFor) implements Opening {}
}
